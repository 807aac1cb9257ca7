"""The NLU training data is consistent with the extractor, normalized, and valid for Rasa."""
from __future__ import annotations

import re
import subprocess

import yaml
from servers import BIN, REPO

from bot.nlp.annotate import NLU_DIR, intent_files, plain, run
from bot.nlp.normalize import is_readable_question, normalize
from devtools.qa import load_cases

PUBLIC_QA = REPO.parent / "shared" / "eval" / "public_qa.yml"
OWN_QA = REPO / "eval" / "madoguchi_qa.yml"
PUBLIC_REAL = REPO.parent / "shared" / "eval" / "public_real_questions.yml"
# Written by someone who never saw the training data; it measures, it never teaches.
REAL_QA = REPO / "eval" / "real_questions.yml"
HOLDOUT_QA = REPO / "eval" / "holdout_questions.yml"  # a second writer's, for a held-out figure
# The blind sets (eval/blind*_questions.yml), each by another writer who saw only the report and the
# public samples; each file's header gives its blind first run.
BLIND_SETS = sorted((REPO / "eval").glob("blind*_questions.yml"))
KINDS = {"gap", "aggregate", "followup", "long_message", "paraphrase"}


def _examples():
    for path in intent_files():
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in block:
                for line in block["examples"].splitlines():
                    if line.strip().startswith("- "):
                        yield path.name, block["intent"], line.strip()[2:]


def test_annotations_match_what_the_extractor_finds():
    stale = run(check=True)
    assert stale == [], f"run `madoguchi nlu annotate`: {stale}"


def test_examples_are_stored_normalized():
    bad = [(f, text) for f, _, text in _examples() if normalize(plain(text)) != plain(text)]
    assert bad == []


def test_no_evaluation_question_is_in_the_training_data():
    def key(text):
        return re.sub(r"[\s?？!！。、]", "", normalize(text))

    training = {key(plain(text)) for _, _, text in _examples()}
    leaked = [turn for qa in (PUBLIC_QA, OWN_QA) for case in load_cases(qa) for turn in case["turns"]
              if isinstance(turn, str) and key(turn) in training]
    # the real-question sets: the judged (last) turn; a first turn such as 「研究会について教えて」 only
    # sets the subject, and such plain openings were training examples before the sets were written
    leaked += [case["turns"][-1] for qa in (PUBLIC_REAL, REAL_QA, HOLDOUT_QA, *BLIND_SETS)
               for case in load_cases(qa) if key(case["turns"][-1]) in training]
    assert leaked == []


def test_the_real_question_set_covers_each_kind_and_stays_out_of_training():
    cases = load_cases(REAL_QA)
    assert len(cases) >= 200
    assert {c.get("kind") for c in cases} == KINDS
    # no training file or generator reads the set
    assert {c.get("kind") for c in load_cases(HOLDOUT_QA)} == KINDS
    assert len(BLIND_SETS) >= 10 and all({c.get("kind") for c in load_cases(b)} == KINDS for b in BLIND_SETS)
    readers = [f for f in list((REPO / "data").rglob("*")) + list((REPO / "bot").rglob("*.py"))
               if f.is_file() and any(name in f.read_text(encoding="utf-8", errors="ignore")
                                      for name in ("real_questions", "holdout_questions",
                                                   *(b.stem for b in BLIND_SETS)))]
    assert readers == []


def test_every_example_without_text_says_what_the_guide_does_with_it():
    # A message without letters or digits never reaches the classifier (NoTextClassifier): 👍 / 👎 rate
    # the last answer, anything else (🤔) gets the fallback's 「文字で入力してください」. An example such
    # as 「🤔」 labelled out_of_scope would teach an intent the guide never gives to that message.
    from bot.nlp.components.classifiers import RATING_EMOJI

    contrary = [(f, intent, text) for f, intent, text in _examples()
                if not is_readable_question(normalize(plain(text))) and RATING_EMOJI.get(plain(text).strip()) != intent]
    assert contrary == []


def test_no_lexicon_word_is_part_of_a_knowledge_base_name():
    # 「内閣」 as an other event would mark 「内閣府の発表」 (内閣府 presented) as not ours
    import re

    from bot.nlp.components.featurizers import lexicon_pattern
    from bot.nlp.normalize import fold

    def tables(path):
        blocks = yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]
        return {b["lookup"]: [ln.strip()[2:] for ln in b["examples"].splitlines() if ln.strip()]
                for b in blocks if "lookup" in b}

    lexicons = tables(NLU_DIR / "lexicon.yml")
    names = [fold(normalize(n)) for ns in tables(NLU_DIR / "generated" / "kb_lookups.yml").values() for n in ns]
    assert len(lexicons) >= 5 and len(names) > 1000
    clashes = {table: sorted({m.group(0) for n in names for m in re.finditer(lexicon_pattern(words), n)})
               for table, words in lexicons.items()}
    assert {t: c for t, c in clashes.items() if c} == {}


def test_every_attribute_cue_maps_to_one_attribute():
    blocks = yaml.safe_load((NLU_DIR / "attributes.yml").read_text(encoding="utf-8"))["nlu"]
    lookup = [ln.strip()[2:] for b in blocks if b.get("lookup") == "attribute"
              for ln in b["examples"].splitlines() if ln.strip()]
    mapped = [ln.strip()[2:] for b in blocks if "synonym" in b for ln in b["examples"].splitlines() if ln.strip()]
    assert sorted(lookup) == sorted(mapped)
    assert len(mapped) == len(set(mapped))


def test_every_intent_has_enough_examples():
    counts: dict[str, int] = {}
    for _, intent, _ in _examples():
        counts[intent] = counts.get(intent, 0) + 1
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    assert set(counts) == set(domain["intents"])
    assert min(counts.values()) >= 30, counts


def test_rasa_data_validate_passes():
    result = subprocess.run(
        [str(BIN / "rasa"), "data", "validate", "--fail-on-warnings", "--domain", "domain.yml", "--data", "data"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
