"""The knowledge base in memory: exact standard-number lookup, hybrid search, filters, citations.

A question that names an entry exactly (its standard number, or its whole title making up
most of the question, as in "电动自行车的安全技术规范国家标准是哪个") is answered from that
entry with certainty; everything else is ranked and given a calibrated confidence.

Loaded once per process from the store (vectors included, so nothing is re-embedded) and
then read-only, so one instance is safely shared by every request of an action server or
gateway process; callers run its methods in a worker thread (they are CPU-bound).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from bot.knowledge.confidence import DEFAULT_CALIBRATION, Calibration
from bot.knowledge.embedder import Embedder
from bot.knowledge.index import Mode, Ranked, SearchIndex
from bot.knowledge.models import (
    Citation,
    Entry,
    Hit,
    Kind,
    KnowledgePoint,
    Passage,
    Standard,
    Status,
)
from bot.knowledge.numbers import StandardNumber, find_standard_numbers
from bot.knowledge.passages import passages_of
from bot.knowledge.status import (
    current_replacements,
    edition_year,
    in_force_status,
    knowledge_status,
)
from bot.knowledge.store import FreshVectors, KnowledgeStore
from bot.knowledge.text import highlight_terms, normalise, snippet

logger = logging.getLogger(__name__)

DEFAULT_ANN_THRESHOLD = 20_000
# Passages per model call and per transaction: one call sorts its texts by length, so
# larger calls pad less.
EMBED_BATCH = 256
# A title counts as named by the question when it is at least this long and makes up at
# least TITLE_SHARE of the question (so "停水" inside a long complaint does not count).
MIN_TITLE_CHARS = 4
TITLE_SHARE = 0.5
_NOT_TITLE = re.compile(r"[\W_的]+")


@dataclass(frozen=True)
class Filters:
    """Restrictions on what search may return; empty fields restrict nothing.

    ``statuses`` are matched against the status in force today (现行 / 即将实施 / 废止 /
    被代替 for standards, 有效 / 已失效 / 尚未生效 for knowledge points); ``issuer`` and
    ``department`` match as substrings (``山东`` finds 山东省市场监督管理局).
    """

    statuses: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    kinds: frozenset[Kind] = frozenset()
    issuer: str = ""
    department: str = ""

    def accepts(self, entry: Entry, status: str) -> bool:
        """``status`` is the entry's status today (``KnowledgeBase.status_label``)."""
        if self.kinds and entry.kind not in self.kinds:
            return False
        if self.statuses and status not in self.statuses:
            return False
        if self.types:
            kind_type = entry.standard_type if isinstance(entry, Standard) else entry.material_type
            if kind_type not in self.types:
                return False
        if self.issuer and self.issuer not in entry.issuer:
            return False
        department = entry.department if isinstance(entry, KnowledgePoint) else entry.issuer
        return not (self.department and self.department not in department)

    @property
    def empty(self) -> bool:
        return not (self.statuses or self.types or self.kinds or self.issuer or self.department)


@dataclass(frozen=True)
class NumberMatch:
    """What the store holds for a standard number named in the question."""

    cited: StandardNumber
    exact: Standard | None
    editions: tuple[Standard, ...]


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    numbers: list[NumberMatch] = field(default_factory=list)

    @property
    def unknown_numbers(self) -> list[StandardNumber]:
        return [m.cited for m in self.numbers if not m.editions]


class KnowledgeBase:
    def __init__(
        self,
        entries: list[Entry],
        index: SearchIndex,
        embedder: Embedder | None,
        calibration: Calibration = DEFAULT_CALIBRATION,
    ) -> None:
        self.entries = entries
        self.index = index
        self.embedder = embedder
        self.calibration = calibration
        self._by_id = {e.id: i for i, e in enumerate(entries)}
        self._editions: dict[str, list[Standard]] = defaultdict(list)
        self._replacing: dict[str, list[Standard]] = defaultdict(list)
        for entry in entries:
            if isinstance(entry, Standard):
                self._editions[entry.match_key].append(entry)
                for old in entry.replaces:
                    self._replacing[old].append(entry)
        for editions in self._editions.values():
            editions.sort(key=edition_year, reverse=True)
        self._first_row: dict[str, int] = {}
        for row, passage in enumerate(index.passages):
            self._first_row.setdefault(passage.entry_id, row)

    # -- construction --------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        store: KnowledgeStore,
        embedder: Embedder,
        *,
        cache_dir: Path | None,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        progress: bool = False,
        calibration: Calibration = DEFAULT_CALIBRATION,
    ) -> KnowledgeBase:
        embed_missing(store, embedder, progress=progress)
        rows = store.index_rows(embedder.model_id, embedder.dimension)
        entries = store.all_entries()
        return cls.from_rows(
            entries,
            rows.passages,
            rows.vectors,
            embedder,
            cache_dir=cache_dir,
            ann_threshold=ann_threshold,
            progress=progress,
            calibration=calibration,
        )

    @classmethod
    def from_rows(
        cls,
        entries: list[Entry],
        passages: list[Passage],
        vectors: NDArray[np.float32],
        embedder: Embedder | None,
        *,
        cache_dir: Path | None = None,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        progress: bool = False,
        calibration: Calibration = DEFAULT_CALIBRATION,
        previous: KnowledgeBase | None = None,
    ) -> KnowledgeBase:
        """``previous``: the knowledge base this one replaces, whose work is reused."""
        position = {e.id: i for i, e in enumerate(entries)}
        entry_of_row = np.fromiter(
            (position[p.entry_id] for p in passages), dtype=np.int64, count=len(passages)
        )
        index = SearchIndex.build(
            passages,
            entry_of_row,
            vectors,
            ann_threshold=ann_threshold,
            cache_dir=cache_dir,
            progress=progress,
            previous=previous.index if previous is not None else None,
        )
        return cls(entries, index, embedder, calibration)

    # -- lookups -------------------------------------------------------------------------

    def get(self, entry_id: str) -> Entry | None:
        position = self._by_id.get(entry_id)
        return self.entries[position] if position is not None else None

    def standard(self, number: str) -> Standard | None:
        entry = self.get(f"std:{number}")
        return entry if isinstance(entry, Standard) else None

    def editions(self, match_key: str) -> list[Standard]:
        return list(self._editions.get(match_key, ()))

    def status(self, standard: Standard, today: date) -> Status:
        """The standard's status on ``today``, from its dates and its replacements' dates."""
        return in_force_status(standard, today, self.standard)

    def status_label(self, entry: Entry, today: date) -> str:
        if isinstance(entry, Standard):
            return self.status(entry, today).value
        return knowledge_status(entry, today)

    def replacements(self, standard: Standard, today: date) -> list[Standard]:
        return current_replacements(
            standard,
            self.editions,
            self.standard,
            lambda number: list(self._replacing.get(number, ())),
            lambda s: self.status(s, today),
        )

    def editions_in_order(self, match: NumberMatch, today: date) -> list[Standard]:
        """The edition asked for first; otherwise the one in force, then newest first."""
        if match.exact is not None:
            return [match.exact]
        return sorted(
            match.editions,
            key=lambda s: (self.status(s, today).is_obsolete, -edition_year(s)),
        )

    def match_numbers(self, numbers: Iterable[StandardNumber]) -> list[NumberMatch]:
        matches = []
        for cited in numbers:
            editions = self._editions.get(cited.match_key, [])
            exact = next((s for s in editions if _year_of(s) == cited.year), None)
            if cited.year is None:
                exact = None
            matches.append(NumberMatch(cited, exact, tuple(editions)))
        return matches

    # -- search --------------------------------------------------------------------------

    def search(
        self,
        query: str,
        top_k: int = 5,
        filters: Filters | None = None,
        mode: Mode = Mode.HYBRID,
        today: date | None = None,
    ) -> SearchResult:
        today = today or date.today()
        filters = filters or Filters()
        numbers = self.match_numbers(find_standard_numbers(query))
        hits: list[Hit] = []
        seen: set[str] = set()
        terms = highlight_terms(query)
        for match in numbers:
            for standard in self.editions_in_order(match, today):
                if standard.id in seen or not filters.accepts(
                    standard, self.status_label(standard, today)
                ):
                    continue
                seen.add(standard.id)
                hits.append(self.entry_hit(standard, today, terms))
        if len(hits) < top_k:
            found = []
            for ranked, confidence in self._ranked(query, filters, mode, today, top_k + len(hits)):
                entry = self.entries[ranked.entry]
                if entry.id in seen:
                    continue
                seen.add(entry.id)
                found.append(self._search_hit(entry, ranked, confidence, terms, today))
            hits += _title_match_first(query, found)
        return SearchResult(query, hits[:top_k], numbers)

    def rank_entries(
        self,
        query: str,
        filters: Filters | None = None,
        mode: Mode = Mode.HYBRID,
        today: date | None = None,
        limit: int = 10,
    ) -> list[Ranked]:
        """Entries ranked by search alone (no number lookup), one per standard number."""
        today = today or date.today()
        filters = filters or Filters()
        vector = None
        if mode is not Mode.BM25 and self.embedder is not None:
            vector = self.embedder.encode_queries([query])[0]
        allowed = None if filters.empty else self._allowed_rows(filters, today)
        ranked = self.index.rank(query, vector, mode, allowed, 3 * limit)
        return self._group_editions(ranked, today)[:limit]

    def _ranked(
        self, query: str, filters: Filters, mode: Mode, today: date, limit: int
    ) -> list[tuple[Ranked, float]]:
        """Ranked entries with their confidence, which never rises down the list.

        In hybrid mode the rank score is the calibrated score, so it falls by itself; the
        single modes rank by another score, and a hit there is at most as sure as the ones
        above it.
        """
        scored = []
        ceiling = 1.0
        for item in self.rank_entries(query, filters, mode, today, limit):
            ceiling = min(ceiling, self.calibration.confidence(item.score, item.standing))
            scored.append((item, ceiling))
        return scored

    def _group_editions(self, ranked: list[Ranked], today: date) -> list[Ranked]:
        """One hit per standard number: the edition in force stands for all retrieved ones.

        Editions of one standard share most of their words, so they would crowd the top
        ranks and make search look unsure (a tiny margin) between near-identical texts.
        """
        groups: dict[str, list[Ranked]] = {}
        for item in ranked:
            entry = self.entries[item.entry]
            key = f"number:{entry.match_key}" if isinstance(entry, Standard) else entry.id
            groups.setdefault(key, []).append(item)
        merged = []
        for members in groups.values():
            preferred = min(members, key=lambda r: self._edition_rank(r.entry, today))
            merged.append(
                Ranked(
                    preferred.entry,
                    preferred.row,
                    members[0].fused,
                    max(m.cosine for m in members),
                    max(m.bm25 for m in members),
                    max(m.coverage for m in members),
                    members[0].score,
                    members[0].standing,
                )
            )
        return merged

    def _edition_rank(self, position: int, today: date) -> tuple[bool, int]:
        entry = self.entries[position]
        if not isinstance(entry, Standard):
            return (False, 0)
        return (self.status(entry, today).is_obsolete, -edition_year(entry))

    def _allowed_rows(self, filters: Filters, today: date) -> NDArray[np.bool_]:
        accepted = np.fromiter(
            (filters.accepts(e, self.status_label(e, today)) for e in self.entries),
            dtype=bool,
            count=len(self.entries),
        )
        return accepted[self.index.entry_of_row]

    # -- citations -----------------------------------------------------------------------

    def entry_hit(self, entry: Entry, today: date, terms: list[str] | None = None) -> Hit:
        """A hit for an entry chosen directly (by number or by the citizen), not by ranking."""
        row = self._first_row.get(entry.id)
        body = self.index.passages[row].body if row is not None else ""
        citation = self.cite(entry, body or entry.title, terms or [], today)
        return Hit(entry, citation, confidence=1.0, exact=True, scores={"exact": 1.0})

    def _search_hit(
        self, entry: Entry, ranked: Ranked, confidence: float, terms: list[str], today: date
    ) -> Hit:
        passage = self.index.passages[ranked.row]
        citation = self.cite(entry, passage.body or passage.text, terms, today)
        scores = {
            "fused": round(ranked.fused, 4),
            "dense": round(ranked.cosine, 4),
            "bm25": round(ranked.bm25, 4),
            "coverage": round(ranked.coverage, 4),
            "score": round(ranked.score, 4),
            "standing": round(ranked.standing, 4),
        }
        return Hit(entry, citation, confidence=round(confidence, 4), scores=scores)

    def cite(self, entry: Entry, body: str, terms: list[str], today: date) -> Citation:
        text, spans = snippet(body, terms)
        if isinstance(entry, Standard):
            source = entry.source or entry.issuer
            number: str | None = entry.number
        else:
            source = entry.source or entry.issuer or entry.department
            number = None
        return Citation(
            entry_id=entry.id,
            kind=entry.kind,
            label=entry.label,
            number=number,
            title=entry.title,
            status=self.status_label(entry, today),
            snippet=text,
            highlights=spans,
            source=source,
        )


def title_key(text: str) -> str:
    """Text as compared for a title match: normalised, without punctuation, spaces or 的."""
    return _NOT_TITLE.sub("", normalise(text))


def names_title(query: str, title: str) -> bool:
    """Whether the question names the entry by its whole title (see ``TITLE_SHARE``)."""
    wanted, asked = title_key(title), title_key(query)
    return (
        len(wanted) >= MIN_TITLE_CHARS
        and wanted in asked
        and len(wanted) >= TITLE_SHARE * len(asked)
    )


def _title_match_first(query: str, hits: list[Hit]) -> list[Hit]:
    """The first hit whose title the question names becomes an exact hit, ranked first."""
    named = next((i for i, h in enumerate(hits) if names_title(query, h.entry.title)), None)
    if named is None:
        return hits
    exact = replace(hits[named], confidence=1.0, exact=True)
    return [exact, *hits[:named], *hits[named + 1 :]]


def _year_of(standard: Standard) -> str | None:
    year = edition_year(standard)
    return str(year) if year else None


def embed_missing(store: KnowledgeStore, embedder: Embedder, progress: bool = False) -> int:
    """Embeds every passage that has no vector from this model yet; returns how many.

    Chunks of ``EMBED_BATCH`` are saved one transaction each, without moving the revision;
    it moves once at the end (also after a failure, for what was saved), so a running
    search process swaps its index once per import instead of once per chunk.
    """
    pending = store.passages_needing_embeddings(embedder.model_id)
    if not pending:
        return 0
    pending.sort(key=lambda item: len(item[1]))  # similar lengths per call: little padding
    bar = tqdm(total=len(pending), desc="向量化", unit="段", disable=not progress)
    try:
        for start in range(0, len(pending), EMBED_BATCH):
            batch = pending[start : start + EMBED_BATCH]
            vectors = embedder.encode_passages([text for _, text in batch])
            ids = [pid for pid, _ in batch]
            store.save_embeddings(embedder.model_id, ids, vectors, bump=False)
            bar.update(len(batch))
    finally:
        bar.close()
        store.announce()
    logger.info("embedded %d passages with %s", len(pending), embedder.model_id)
    return len(pending)


def fresh_vectors(entry: Entry, embedder: Embedder) -> FreshVectors:
    """The vectors of ``entry``'s passages, to be written with it (``KnowledgeStore.upsert_in``)."""
    passages = passages_of(entry)
    vectors = embedder.encode_passages([p.text for p in passages])
    return FreshVectors(
        embedder.model_id,
        {
            p.text_hash: np.asarray(v, dtype=np.float32).tobytes()
            for p, v in zip(passages, vectors, strict=True)
        },
    )
