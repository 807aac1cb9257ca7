"""Madoguchi's Rasa NLU components, one module per role as Rasa lays out its own:

- ``language``: ``JapaneseNormalizer`` and ``GinzaNLP`` (GiNZA as the spaCy model);
- ``extractors``: ``KBEntityExtractor`` (known names, question cues, operations);
- ``featurizers``: ``LookupFeaturizer`` and ``ViewFeaturizer``;
- ``linear``: ``LinearIntentClassifier`` (linear SVM over weighted feature blocks);
- ``classifiers``: ``NoTextClassifier`` (unreadable messages and a lone 👍/👎).

``config.yml`` names each class by its module; importing this package changes nothing in Rasa.
"""
