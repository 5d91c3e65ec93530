"""Measuring the safety checks: false alarms on real messages, recall on our examples.

Every message of a hotline's history is in scope except the rare legal route and the rare
live emergency, so a detector that fires on history files is mostly raising false alarms;
the trigger count, with the triggering messages to read, is the figure to drive down.
Recall is measured on the project's own emergency examples (``data/safety`` and the
emergency intent of the NLU data), which must all still be caught.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.safety.emergency import assess_emergency, detect_emergency
from bot.safety.out_of_scope import detect_out_of_scope

TEXT_FIELDS = ("message", "question", "content", "text")


@dataclass
class Trigger:
    row_id: str
    check: str
    kind: str
    text: str


@dataclass
class FileReport:
    path: str
    messages: int = 0
    emergency: Counter[str] = field(default_factory=Counter)
    out_of_scope: Counter[str] = field(default_factory=Counter)
    triggers: list[Trigger] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "messages": self.messages,
            "emergency": sum(self.emergency.values()),
            "emergency_by_kind": dict(self.emergency),
            "out_of_scope": sum(self.out_of_scope.values()),
            "out_of_scope_by_kind": dict(self.out_of_scope),
            "triggers": [vars(t) for t in self.triggers],
        }


def scan_file(path: Path) -> FileReport:
    """Run both checks over every message of a JSONL file."""
    report = FileReport(str(path))
    for number, row in enumerate(_read_jsonl(path)):
        text = next((str(row[f]) for f in TEXT_FIELDS if row.get(f)), "")
        if not text:
            continue
        report.messages += 1
        row_id = str(row.get("id", number))
        emergency = detect_emergency(text)
        if emergency is not None:
            report.emergency[emergency.kind] += 1
            report.triggers.append(Trigger(row_id, "emergency", emergency.kind, text))
        scope = detect_out_of_scope(text)
        if scope is not None:
            report.out_of_scope[scope.kind] += 1
            report.triggers.append(Trigger(row_id, "out_of_scope", scope.kind, text))
    return report


@dataclass
class ExampleReport:
    """Recall on genuine emergencies (with the right number) and false alarms on the
    written narrative, hypothetical and hazard mentions."""

    emergencies: int = 0
    caught: int = 0
    missed: list[str] = field(default_factory=list)
    wrong_number: list[str] = field(default_factory=list)
    mentions: int = 0
    false_alarms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.emergencies if self.emergencies else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "emergencies": self.emergencies,
            "caught": self.caught,
            "recall": round(self.recall, 4),
            "missed": self.missed,
            "wrong_number": self.wrong_number,
            "mentions": self.mentions,
            "false_alarms": self.false_alarms,
        }


def evaluate_examples(examples: Path, nlu: Path | None) -> ExampleReport:
    report = ExampleReport()
    for expected, text in emergency_examples(examples, nlu):
        report.emergencies += 1
        found = detect_emergency(text)
        if found is None:
            report.missed.append(text)
            continue
        report.caught += 1
        if expected is not None and expected not in (found.number, found.kind):
            report.wrong_number.append(f"{text} → {found.kind} {found.number}（应为{expected}）")
    for text in mention_examples(examples):
        report.mentions += 1
        if detect_emergency(text) is not None:
            reason = assess_emergency(text).reason
            report.false_alarms.append(f"{text}（{reason}）")
    return report


def emergency_examples(examples: Path, nlu: Path | None) -> Iterator[tuple[str | None, str]]:
    """(expected number or kind, or None; text): ours, then the NLU's emergency intent,
    whose examples say only that they are emergencies."""
    data = yaml.safe_load(examples.read_text(encoding="utf-8"))
    for expected, texts in data["emergency"].items():
        for text in texts:
            yield str(expected), str(text)
    if nlu is not None and nlu.exists():
        for text in nlu_examples(nlu, "emergency"):
            yield None, text


def mention_examples(examples: Path) -> list[str]:
    data = yaml.safe_load(examples.read_text(encoding="utf-8"))
    return [str(text) for text in data["not_emergency"]]


def nlu_examples(path: Path, intent: str) -> list[str]:
    """An intent's examples from a Rasa NLU file, with entity annotations removed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for block in data.get("nlu", []):
        if block.get("intent") == intent:
            lines = str(block.get("examples", "")).splitlines()
            return [_plain(line.strip()[2:]) for line in lines if line.strip().startswith("- ")]
    return []


def _plain(example: str) -> str:
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", example)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as rows:
        for line in rows:
            if line.strip():
                row = json.loads(line)
                if isinstance(row, dict):
                    yield row
