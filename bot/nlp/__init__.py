"""Japanese text handling: normalization, entity gazetteer, custom Rasa components."""
