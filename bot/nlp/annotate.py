"""``madoguchi nlu annotate``: writes entity annotations into the NLU training examples.

Entities are found by the same dictionary extractor the bot runs (lookup tables, synonyms, number
patterns), so the annotations in the training data always agree with what the pipeline extracts.
Examples are stored in normalized form (see :mod:`bot.nlp.normalize`). Rerun after the knowledge
base gains names; a test fails when the training data is out of date.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from bot.nlp.entities import extract, gazetteer_entries
from bot.nlp.gazetteer import Gazetteer
from bot.nlp.normalize import normalize

NLU_DIR = Path(__file__).resolve().parents[2] / "data" / "nlu"
_ANNOTATION_RE = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_EXAMPLE_RE = re.compile(r"^(\s+- )(.*)$")


def plain(text: str) -> str:
    return _ANNOTATION_RE.sub(lambda m: m.group(1), text)


def annotate_text(gazetteer: Gazetteer, text: str) -> str:
    text = normalize(plain(text))
    out, last = [], 0
    for e in extract(gazetteer, text):
        surface = text[e["start"] : e["end"]]
        out.append(text[last : e["start"]])
        if e["value"] == surface:
            out.append(f"[{surface}]({e['entity']})")
        else:
            spec = json.dumps({"entity": e["entity"], "value": e["value"]}, ensure_ascii=False)
            out.append(f"[{surface}]{spec}")
        last = e["end"]
    out.append(text[last:])
    return "".join(out)


def load_gazetteer(nlu_dir: Path = NLU_DIR) -> Gazetteer:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(nlu_dir))
    return Gazetteer((s, e, v) for s, e, v in gazetteer_entries(data.lookup_tables, data.entity_synonyms))


def intent_files(nlu_dir: Path = NLU_DIR) -> list[Path]:
    return sorted(p for p in nlu_dir.glob("*.yml") if "- intent:" in p.read_text(encoding="utf-8"))


def annotate_file(gazetteer: Gazetteer, path: Path) -> str:
    lines, in_examples = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("- intent:") or stripped.startswith("- lookup:") or stripped.startswith("- synonym:"):
            in_examples = stripped.startswith("- intent:")
        m = _EXAMPLE_RE.match(line)
        if in_examples and m and line.startswith("    - "):
            line = m.group(1) + annotate_text(gazetteer, m.group(2))
        lines.append(line)
    return "\n".join(lines) + "\n"


def run(nlu_dir: Path = NLU_DIR, check: bool = False) -> list[Path]:
    """Annotate every intent file; with ``check`` only report files that would change."""
    gazetteer = load_gazetteer(nlu_dir)
    changed = []
    for path in intent_files(nlu_dir):
        text = annotate_file(gazetteer, path)
        if text != path.read_text(encoding="utf-8"):
            changed.append(path)
            if not check:
                path.write_text(text, encoding="utf-8")
    return changed
