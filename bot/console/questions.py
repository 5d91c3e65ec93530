"""The questions the assistant could not answer, grouped by similarity.

Citizens ask the same thing in many ways ("路灯坏了", "我家门口路灯坏了怎么办"); counted one
by one, no phrasing reaches the top of the list and the page fills with near-duplicates.
Questions are grouped greedily, most asked first, by the overlap of their character
bigrams (Dice coefficient): cheap, deterministic and needs no model, which suits the short
Chinese questions this list holds. Only the most asked distinct phrasings are grouped, so
the cost stays bounded however many there were.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

SIMILARITY = 0.5  # Dice coefficient of character bigrams from which two questions are one
MAX_PHRASINGS = 500  # distinct phrasings grouped per period, most asked first
EXAMPLES = 3


@dataclass
class QuestionGroup:
    sample: str  # the most asked phrasing
    asked: int  # times asked, all phrasings together
    phrasings: list[str] = field(default_factory=list)  # the others, most asked first

    @property
    def examples(self) -> list[str]:
        return self.phrasings[:EXAMPLES]


def _bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset({text})
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def group_questions(counted: list[tuple[str, str, int]]) -> list[QuestionGroup]:
    """``counted``: (normalised text, a sample of it, times asked), most asked first.

    A phrasing joins the group holding the phrasing most like it (single linkage), so a
    group is not bound to the wording of its first member. An index from bigram to the
    phrasings holding it means each phrasing is compared only with those it shares one with.
    """
    groups: list[QuestionGroup] = []
    member_group: list[int] = []  # phrasing -> its group
    member_size: list[int] = []  # phrasing -> its number of bigrams
    holding: dict[str, list[int]] = defaultdict(list)  # bigram -> phrasings
    for normalized, sample, asked in counted[:MAX_PHRASINGS]:
        grams = _bigrams(normalized)
        shared = Counter(m for gram in grams for m in holding.get(gram, ()))
        best, score = -1, 0.0
        for member, overlap in shared.items():
            similarity = 2 * overlap / (len(grams) + member_size[member])
            if similarity > score:
                best, score = member, similarity
        if score >= SIMILARITY:
            group = member_group[best]
            groups[group].asked += asked
            groups[group].phrasings.append(sample)
        else:
            group = len(groups)
            groups.append(QuestionGroup(sample, asked))
        member = len(member_group)
        member_group.append(group)
        member_size.append(len(grams))
        for gram in grams:
            holding[gram].append(member)
    return sorted(groups, key=lambda g: -g.asked)
