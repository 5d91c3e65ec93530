"""Extra NLU examples drawn from a centre's history, merged in when the Rasa model is trained.

Our own phrasings are short and clean; citizens write long, multi-sentence messages full of
background, and public data masks names, places and numbers (``****小区``, ``138********``).
Trained only on the former, the NLU meets the latter with low confidence and the assistant
answers "没有完全理解". So the first messages of past requests become examples of the intents
that start the right dialogue: a 咨询 (and any question of a Q&A file) becomes ``consult``, a
complaint or call for help ``complain``, a suggestion ``suggest``.

History files carry no licence of ours and belong to the centre: the examples are written
into the model's build folder, never into the repository, and their digest is part of the
model's cache key so that new history trains a new model.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.routing.evaluation import LabelMapping, read_jsonl, row_text
from bot.routing.history import LABEL_MAPPING

# Per intent, so that the largest class does not drown the others and training stays within
# a few minutes on two cores (measured: see README, "Training on a centre's history").
MAX_EXAMPLES_PER_INTENT = 150
# Longer messages are cut at a sentence end near this length: the matter is stated in the
# first sentences, and DIET's cost grows with the number of tokens.
MAX_EXAMPLE_CHARS = 100
MIN_EXAMPLE_CHARS = 6

# A project request type → the intent that starts its dialogue (mapped back in
# bot/workorders/dialogue/intake.py). A label grouping several types (投诉/求助) takes the
# first in this order.
TYPE_INTENTS = {
    "咨询": "consult",
    "投诉": "complain",
    "建议": "suggest",
    "求助": "seek_help",
    "举报": "report",
    "表扬": "praise",
}
QUESTION_INTENT = "consult"

_MASKED_NUMBER = re.compile(r"\d*[*＊]+\d[\d*＊]*|\d+[*＊]+")
_MASK = re.compile(r"[*＊]+")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
# Rasa reads [text](entity) and {…} in examples as annotations.
_MARKUP = str.maketrans({"[": "【", "]": "】", "{": "（", "}": "）"})


def example_text(text: str) -> str | None:
    """The message as an NLU example: masks read as 某, masked numbers dropped, one line,
    cut after the sentence that crosses ``MAX_EXAMPLE_CHARS``."""
    clean = _MASK.sub("某", _MASKED_NUMBER.sub("", text))
    clean = _SPACE.sub(" ", clean.translate(_MARKUP)).strip()
    if len(clean) > MAX_EXAMPLE_CHARS:
        end = _SENTENCE_END.search(clean, MAX_EXAMPLE_CHARS // 2)
        cut = end.end() if end and end.end() <= MAX_EXAMPLE_CHARS * 1.5 else MAX_EXAMPLE_CHARS
        clean = clean[:cut]
    return clean if len(clean) >= MIN_EXAMPLE_CHARS else None


def intent_for(row: dict[str, Any], mapping: LabelMapping) -> str | None:
    """The intent a history row exemplifies, or None when its label says nothing we use."""
    label = row.get("request_type")
    if isinstance(label, str) and label.strip():
        members = mapping.request_types.get(label.strip(), frozenset({label.strip()}))
        intents = [intent for kind, intent in TYPE_INTENTS.items() if kind in members]
        return intents[0] if intents else None
    question = row.get("question")
    return QUESTION_INTENT if isinstance(question, str) and question.strip() else None


def _rank(text: str) -> str:
    """A stable pseudo-random order, independent of file order and of Python's hash seed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def select_examples(
    rows: Iterable[dict[str, Any]],
    mapping: LabelMapping,
    per_intent: int = MAX_EXAMPLES_PER_INTENT,
) -> dict[str, list[str]]:
    """Up to ``per_intent`` distinct examples per intent, the same ones on every run."""
    pools: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        intent = intent_for(row, mapping)
        text = example_text(row_text(row) or "") if intent else None
        if intent and text:
            pools[intent].add(text)
    return {intent: sorted(pool, key=_rank)[:per_intent] for intent, pool in pools.items()}


def selected_ids(paths: Sequence[Path]) -> set[str]:
    """The ids of the rows whose text became a training example: what an evaluation on the
    same files must leave out."""
    mapping = LabelMapping.load(LABEL_MAPPING)
    rows = [row for path in paths for row in read_jsonl(path)]
    chosen = {text for texts in select_examples(rows, mapping).values() for text in texts}
    return {
        str(row.get("id"))
        for row in rows
        if intent_for(row, mapping) and example_text(row_text(row) or "") in chosen
    }


def history_digest(paths: Sequence[Path]) -> str:
    """Part of the model's cache key: the history's content and the way examples are drawn
    (this module and the label mapping)."""
    if not paths:
        return ""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(LABEL_MAPPING.read_bytes())
    for path in paths:
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def write_history_nlu(paths: Sequence[Path], target: Path) -> dict[str, int]:
    """Writes the examples drawn from ``paths`` as a Rasa NLU file; the count per intent."""
    mapping = LabelMapping.load(LABEL_MAPPING)
    examples = select_examples((row for path in paths for row in read_jsonl(path)), mapping)
    document = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
            for intent, texts in sorted(examples.items())
        ],
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10_000),
        encoding="utf-8",
    )
    return {intent: len(texts) for intent, texts in examples.items()}
