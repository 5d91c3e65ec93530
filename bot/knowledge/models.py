"""The knowledge base's records: standards and 12345 knowledge points, and what search returns.

Both kinds live in one store and one index; they differ in the facts they carry, so they
are two dataclasses rather than one record full of optional fields.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from bot.knowledge.numbers import parse_standard_number


class Status(StrEnum):
    """A standard's status as catalogues publish it."""

    CURRENT = "现行"
    UPCOMING = "即将实施"
    WITHDRAWN = "废止"
    REPLACED = "被代替"

    @property
    def is_obsolete(self) -> bool:
        return self in (Status.WITHDRAWN, Status.REPLACED)

    @classmethod
    def parse(cls, raw: str) -> Status:
        """Every spelling seen in catalogues; anything else is an error for the import report."""
        text = raw.strip().lower().replace(" ", "")
        for status, spellings in _STATUS_SPELLINGS.items():
            if text in spellings:
                return status
        raise ValueError(f"无法识别的标准状态“{raw}”（应为 现行、即将实施、废止 或 被代替）")


_STATUS_SPELLINGS: dict[Status, frozenset[str]] = {
    Status.CURRENT: frozenset({"现行", "现行有效", "有效", "current", "valid", "active", "在用"}),
    Status.UPCOMING: frozenset(
        {"即将实施", "待实施", "尚未实施", "未实施", "upcoming", "forthcoming", "未生效"}
    ),
    Status.WITHDRAWN: frozenset(
        {"废止", "已废止", "作废", "已作废", "废除", "withdrawn", "abolished", "obsolete", "失效"}
    ),
    Status.REPLACED: frozenset(
        {"被代替", "已被代替", "被替代", "已被替代", "replaced", "superseded"}
    ),
}


class Kind(StrEnum):
    STANDARD = "standard"
    KNOWLEDGE = "knowledge"


@dataclass(frozen=True)
class Section:
    """One clause or section of a full-text document."""

    heading: str
    text: str


@dataclass(frozen=True)
class Provenance:
    """Where a record's facts come from and whether someone checked them against it.

    Answers present only verified records as fact; the rest are attributed to the
    knowledge base and point to the official channel (``bot.knowledge.answer``).
    """

    document: str = ""
    issuer: str = ""
    url: str = ""
    checked_on: date | None = None
    checked_by: str = ""
    verified: bool = False


@dataclass(frozen=True)
class Standard:
    """A standard from a catalogue; ``number`` is canonical (see ``numbers``)."""

    number: str
    title: str
    status: Status
    title_en: str = ""
    standard_type: str = ""
    issued: date | None = None
    implemented: date | None = None
    withdrawn: date | None = None
    replaces: tuple[str, ...] = ()
    replaced_by: tuple[str, ...] = ()
    issuer: str = ""
    ccs: str = ""
    ics: str = ""
    scope: str = ""
    source: str = ""
    sections: tuple[Section, ...] = ()
    provenance: Provenance = Provenance()

    kind = Kind.STANDARD

    @property
    def id(self) -> str:
        return f"std:{self.number}"

    @property
    def match_key(self) -> str:
        parsed = parse_standard_number(self.number)
        return parsed.match_key if parsed else self.number

    @property
    def label(self) -> str:
        return f"{self.number}《{self.title}》"

    def content_hash(self) -> str:
        return _hash(self)


@dataclass(frozen=True)
class KnowledgePoint:
    """A 12345 knowledge point: a policy answer, a procedure, a notice (类目 path in category)."""

    id: str
    title: str
    content: str
    category: str = ""
    issuer: str = ""
    material_type: str = ""
    keywords: tuple[str, ...] = ()
    department: str = ""
    effective: date | None = None
    expires: date | None = None
    reviewed: date | None = None
    source: str = ""
    sections: tuple[Section, ...] = ()
    provenance: Provenance = Provenance()

    kind = Kind.KNOWLEDGE

    @property
    def label(self) -> str:
        return f"《{self.title}》"

    def content_hash(self) -> str:
        return _hash(self)


Entry = Standard | KnowledgePoint


@dataclass(frozen=True)
class Passage:
    """The unit that is indexed: a piece of an entry, prefixed with the entry's title."""

    entry_id: str
    ordinal: int
    heading: str
    body: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.entry_id}#{self.ordinal}"

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Citation:
    """What every answer points to: enough for a citizen or an agent to check the source."""

    entry_id: str
    kind: Kind
    label: str
    number: str | None
    title: str
    status: str
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    source: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["highlights"] = [list(span) for span in self.highlights]
        return data


@dataclass(frozen=True)
class Hit:
    """One entry found by search, with its scores and citation."""

    entry: Entry
    citation: Citation
    confidence: float
    exact: bool = False
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A composed reply: Chinese text, the citation it rests on, at most two alternatives."""

    text: str
    confident: bool
    confidence: float
    citation: Citation | None = None
    alternatives: tuple[Hit, ...] = ()
    notices: tuple[str, ...] = ()


def _hash(entry: Entry) -> str:
    payload = json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
