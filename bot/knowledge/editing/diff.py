"""What changed between two versions of a record, field by field, for the history page."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.knowledge.editing.forms import form_values, labels_of
from bot.knowledge.models import Entry


@dataclass(frozen=True)
class Change:
    """One field's change; ``segments`` are (op, text) with op ``same``, ``del`` or ``ins``."""

    label: str
    segments: tuple[tuple[str, str], ...]


def changes(old: Entry | None, new: Entry) -> list[Change]:
    before = form_values(old) if old is not None else {}
    after = form_values(new)
    labels = labels_of(new.kind.value)
    found = []
    for name, label in labels.items():
        a, b = before.get(name, ""), after.get(name, "")
        if a != b:
            found.append(Change(label, _segments(a, b)))
    return found


def _segments(old: str, new: str) -> tuple[tuple[str, str], ...]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            out.append(("same", old[a1:a2]))
            continue
        if a2 > a1:
            out.append(("del", old[a1:a2]))
        if b2 > b1:
            out.append(("ins", new[b1:b2]))
    return tuple(out)
