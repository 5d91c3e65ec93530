"""Measuring routing on labelled data whose labels are not ours.

Outside data names request types and departments its own way (Beijing units, a merged
投诉/求助 class), so every comparison goes through data/routing/label_mapping.yml, where each
mapping is written down and argued. Rows whose label maps to nothing are counted as skipped,
never silently dropped, and rows the classifier sent to 110/119 or declared out of scope count
as wrong (a real hotline would not have routed them either).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

if TYPE_CHECKING:  # the classifier reads the label mapping from here
    from bot.routing.classifier import Classification

TEXT_FIELDS = ("message", "question", "content")


class Classifies(Protocol):
    """A live classifier, or classifications computed beforehand (cross-validation)."""

    def classify(self, text: str) -> Classification: ...


@dataclass(frozen=True)
class LabelMapping:
    departments: dict[str, frozenset[str] | None]
    request_types: dict[str, frozenset[str]]
    domains: dict[str, str]
    # The first unit a list names: the one a row with that label trains (history.py).
    lead_departments: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> LabelMapping:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        departments: dict[str, frozenset[str] | None] = {}
        leads: dict[str, str] = {}
        for label, target in (raw.get("departments") or {}).items():
            if target is None:
                departments[str(label)] = None
            elif isinstance(target, str):
                departments[str(label)] = frozenset({target})
                leads[str(label)] = target
            else:
                departments[str(label)] = frozenset(str(item) for item in target)
                leads[str(label)] = str(target[0])
        request_types = {
            str(label): frozenset(str(item) for item in targets)
            for label, targets in (raw.get("request_types") or {}).items()
        }
        return cls(
            departments=departments,
            request_types=request_types,
            domains={str(k): str(v) for k, v in (raw.get("domains") or {}).items()},
            lead_departments=leads,
        )

    def type_label(self, predicted: str) -> str | None:
        """The outside label our predicted type falls under."""
        for label, ours in self.request_types.items():
            if predicted in ours:
                return label
        return None


def row_text(row: dict[str, Any]) -> str | None:
    """The row's text (``message``, ``question`` or ``content``), or None when it has none."""
    for field in TEXT_FIELDS:
        value = row.get(field)
        if isinstance(value, str) and value.strip():
            return value
    return None


def message_text(row: dict[str, Any]) -> str:
    text = row_text(row)
    if text is None:
        raise ValueError(
            f"row {row.get('id', '?')} has none of the fields {', '.join(TEXT_FIELDS)}"
        )
    return text


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: each line must be a JSON object")
            yield row


def prediction_row(row: dict[str, Any], result: Classification) -> dict[str, Any]:
    output: dict[str, Any] = {"id": row["id"]} if "id" in row else {}
    output.update(result.to_dict())
    return output


def evaluate_types(
    classifier: Classifies, rows: Iterable[dict[str, Any]], mapping: LabelMapping
) -> dict[str, Any]:
    """Request-type accuracy and macro-F1 over the outside labels, plus domain accuracy."""
    pairs: list[tuple[str, str | None]] = []
    domain_total = domain_right = skipped = flagged = 0
    for row in rows:
        gold = row.get("request_type")
        result = classifier.classify(message_text(row))
        flagged += result.emergency is not None or result.out_of_scope is not None
        if gold in mapping.request_types:
            pairs.append((str(gold), mapping.type_label(result.request_type)))
        else:
            skipped += 1
        domain = row.get("domain")
        if isinstance(domain, str) and domain in mapping.domains:
            domain_total += 1
            domain_right += result.domain == mapping.domains[domain]
    labels = sorted(mapping.request_types)
    per_label = {label: _f1(pairs, label) for label in labels}
    return {
        "rows": len(pairs),
        "skipped": skipped,
        "unrouted_emergency_or_out_of_scope": flagged,
        "accuracy": _ratio(sum(gold == pred for gold, pred in pairs), len(pairs)),
        "macro_f1": round(sum(per_label.values()) / len(labels), 4) if labels else 0.0,
        "f1": per_label,
        "confusion": {
            gold: {pred or "-": count for (g, pred), count in Counter(pairs).items() if g == gold}
            for gold in labels
        },
        "domain": {
            "rows": domain_total,
            "accuracy": _ratio(domain_right, domain_total),
        },
    }


def evaluate_departments(
    classifier: Classifies, rows: Iterable[dict[str, Any]], mapping: LabelMapping
) -> dict[str, Any]:
    """Top-1 and top-3 accuracy of the department against the mapped outside labels."""
    total = top1 = top3 = skipped = 0
    unknown: Counter[str] = Counter()
    per_label: dict[str, list[int]] = {}
    for row in rows:
        label = row.get("department")
        if isinstance(label, str) and label not in mapping.departments:
            unknown[label] += 1
        gold = mapping.departments.get(label) if isinstance(label, str) else None
        if gold is None or not isinstance(label, str):
            skipped += 1
            continue
        result = classifier.classify(message_text(row))
        ids = [candidate.id for candidate in result.department_alternatives]
        hit1 = bool(ids) and ids[0] in gold
        hit3 = bool(gold.intersection(ids[:3]))
        total += 1
        top1 += hit1
        top3 += hit3
        counts = per_label.setdefault(label, [0, 0])
        counts[0] += hit1
        counts[1] += 1
    return {
        "rows": total,
        "skipped": skipped,
        "unmapped_labels": dict(unknown),
        "top1": _ratio(top1, total),
        "top3": _ratio(top3, total),
        "top1_by_label": {
            label: {"rows": n, "top1": _ratio(right, n)} for label, (right, n) in per_label.items()
        },
    }


def _f1(pairs: list[tuple[str, str | None]], label: str) -> float:
    tp = sum(gold == label and pred == label for gold, pred in pairs)
    fp = sum(gold != label and pred == label for gold, pred in pairs)
    fn = sum(gold == label and pred != label for gold, pred in pairs)
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return round(2 * precision * recall / (precision + recall), 4)


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
