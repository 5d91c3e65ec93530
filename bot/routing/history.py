"""Labelled history as training rows: a centre's past requests, our own examples, the catalogue.

A centre's history names types and units its own way (a merged 投诉/求助 class, Beijing bureau
names), so every label goes through data/routing/label_mapping.yml, the same file evaluation
uses, and lands on the label space the product predicts:

- request type → a *type group* of the mapping (咨询, 投诉/求助, 建言). Labelled data rarely
  separates 投诉 from 求助 and 举报, or 建议 from 表扬, so the learned model predicts the group and
  the cue rules of ``request_type`` choose within it;
- department → a catalogue department id, because work orders, time limits and the agents'
  tools only know catalogue units. A label covering several units trains its first one.

Rows whose labels map to nothing are counted, never silently dropped, so a centre sees how
much of its history was usable.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.routing.catalogue import Catalogue
from bot.routing.evaluation import TEXT_FIELDS, LabelMapping, read_jsonl
from bot.routing.request_type import REQUEST_TYPES
from bot.settings import PROJECT_ROOT, Settings, dev_history

ROUTING_DATA = PROJECT_ROOT / "data" / "routing"
LABEL_MAPPING = ROUTING_DATA / "label_mapping.yml"
OWN_EXAMPLES = ROUTING_DATA / "examples.jsonl"

# Phone, ID and order numbers (often half masked: 138********) say nothing about the matter;
# masked names and places (****小区) stand for "some" place, which 某 says in plain Chinese.
_MASKED_NUMBER = re.compile(r"[0-9][0-9*＊xX]*[*＊][0-9*＊xX]*|[*＊][0-9*＊]*[0-9][0-9*＊]*")
_MASK = re.compile(r"[*＊]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_LONG_NUMBER = re.compile(r"[0-9]{5,}")


def feature_text(text: str) -> str:
    """The text the learned models see: masks and numbers folded, width and case unified."""
    clean = unicodedata.normalize("NFKC", text).lower()
    clean = "".join(clean.split())
    clean = _MASKED_NUMBER.sub("#", clean)
    clean = _LONG_NUMBER.sub("#", clean)
    clean = _MASK.sub("某", clean)
    return _NUMBER.sub("0", clean)


def parse_history(raw: str) -> tuple[Path, ...]:
    """A ``HOTLINE_HISTORY`` value as paths (os.pathsep- or comma-separated; ``none``: none)."""
    return Settings(hotline_history=raw.strip() or "none").history_files


def default_history_files() -> tuple[Path, ...]:
    """The development files beside the repository, when this machine has them."""
    return parse_history(dev_history())


@dataclass(frozen=True)
class TrainingRow:
    text: str
    type_group: str | None
    department: str | None
    source: str


@dataclass
class LabelReport:
    """How many rows of each source became training rows, and the labels that mapped to nothing."""

    used: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unknown_labels: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        parts = [f"{source}: {count}" for source, count in sorted(self.used.items())]
        text = "训练样本 " + ("，".join(parts) if parts else "0")
        skipped = sum(self.skipped.values())
        if skipped:
            text += f"；标签无法对应而跳过 {skipped} 条"
        return text


class Labels:
    """Outside labels → type groups and catalogue department ids."""

    def __init__(self, mapping: LabelMapping, catalogue: Catalogue) -> None:
        self.mapping = mapping
        self.groups: dict[str, frozenset[str]] = dict(mapping.request_types)
        covered = set().union(*self.groups.values()) if self.groups else set()
        for kind in REQUEST_TYPES:  # a type the mapping does not group stands for itself
            if kind not in covered:
                self.groups[kind] = frozenset({kind})
        self._units: dict[str, str] = {}
        for department in catalogue.departments:
            for name in (
                department.id,
                department.name,
                department.short_name,
                *department.aliases,
            ):
                self._units.setdefault(name, department.id)
        for district in catalogue.districts:
            for name in (district.name, district.government, *district.aliases):
                self._units.setdefault(name, "district_government")

    def type_group(self, label: object) -> str | None:
        if not isinstance(label, str) or not label.strip():
            return None
        label = label.strip()
        if label in self.groups:
            return label
        for group, members in self.groups.items():
            if label in members:
                return group
        return None

    def members(self, group: str) -> frozenset[str]:
        return self.groups.get(group, frozenset({group}))

    def department(self, label: object) -> str | None:
        """The catalogue id a history label names (a mapped outside label, an id or a name)."""
        if not isinstance(label, str) or not label.strip():
            return None
        label = label.strip()
        if label in self.mapping.departments:
            return self.mapping.lead_departments.get(label)
        return self._units.get(label)

    def gold_departments(self, label: object) -> frozenset[str] | None:
        """Every unit counted right for ``label`` in evaluation (a list in the mapping)."""
        if isinstance(label, str) and label.strip() in self.mapping.departments:
            return self.mapping.departments[label.strip()]
        unit = self.department(label)
        return frozenset({unit}) if unit else None


def history_rows(
    paths: Sequence[Path], labels: Labels, report: LabelReport | None = None
) -> list[TrainingRow]:
    rows: list[TrainingRow] = []
    for path in paths:
        rows.extend(rows_of(read_jsonl(path), labels, f"history:{path.name}", report))
    return rows


def rows_of(
    raw_rows: Iterable[dict[str, Any]],
    labels: Labels,
    source: str,
    report: LabelReport | None = None,
) -> Iterator[TrainingRow]:
    for raw in raw_rows:
        text = _text(raw)
        group = labels.type_group(raw.get("request_type"))
        unit = labels.department(raw.get("department"))
        for key in ("request_type", "department"):
            value = raw.get(key)
            if report is not None and isinstance(value, str) and value.strip():
                known = group if key == "request_type" else unit
                if known is None and value.strip() not in labels.mapping.departments:
                    report.unknown_labels[value.strip()] += 1
        if text is None or (group is None and unit is None):
            if report is not None:
                report.skipped[source] += 1
            continue
        if report is not None:
            report.used[source] += 1
        yield TrainingRow(text=text, type_group=group, department=unit, source=source)


def catalogue_rows(catalogue: Catalogue) -> list[TrainingRow]:
    """Each typical matter as a short request to its department: the cold start, and the only
    evidence for units a centre's history never names."""
    return [
        TrainingRow(
            text=matter.name.replace("、", "，"),
            type_group=None,
            department=department.id,
            source="catalogue",
        )
        for department in catalogue.departments
        for matter in department.matters
    ]


def own_example_rows(labels: Labels, path: Path = OWN_EXAMPLES) -> list[TrainingRow]:
    return list(rows_of(read_jsonl(path), labels, "examples")) if path.is_file() else []


def _text(raw: dict[str, Any]) -> str | None:
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
