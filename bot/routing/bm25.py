"""Okapi BM25 over a few hundred short catalogue texts.

Small enough to score a message against every document in a millisecond or two with plain
dictionaries, and transparent enough to say which terms made a match (for the reason shown
to agents).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


class BM25:
    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.5) -> None:
        self._k1 = k1
        self._b = b
        self._lengths = [len(document) for document in documents]
        self._average = (sum(self._lengths) / len(documents)) if documents else 1.0
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for index, document in enumerate(documents):
            for term, count in Counter(document).items():
                self._postings.setdefault(term, []).append((index, count))
        total = len(documents)
        self.idf = {
            term: math.log(1.0 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            for term, postings in self._postings.items()
        }
        self.size = total

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        """Document index → score, for documents sharing at least one term with ``query``.

        Repeated query terms count with saturation (a message that says 物业 three times is
        about 物业, but not three times as much).
        """
        result: dict[int, float] = {}
        for term, query_count in Counter(query).items():
            postings = self._postings.get(term)
            if not postings:
                continue
            weight = self.idf[term] * (1.0 + math.log(query_count))
            for index, count in postings:
                norm = self._k1 * (1.0 - self._b + self._b * self._lengths[index] / self._average)
                result[index] = result.get(index, 0.0) + weight * count * (self._k1 + 1.0) / (
                    count + norm
                )
        return result
