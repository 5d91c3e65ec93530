"""Which department (承办单位) a message belongs to, by the catalogue and nothing else.

Three kinds of evidence, each explainable to an agent:
- a typical matter (典型事项) the message resembles (BM25 over words and character bigrams
  of each matter), the strongest evidence because matters are written in citizens' words;
- the department's whole profile (duties, keywords, matters) for messages that describe a
  matter in words no single entry uses;
- literal keywords and aliases (公积金, 暖气, 派出所), weighted by how few departments list them.

Scores become confidences by a softmax relative to the best score, damped when the evidence is
thin, so a long message does not look certain just because it is long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.routing.bm25 import BM25
from bot.routing.catalogue import Catalogue, Department, Matter
from bot.routing.text import normalise, terms, tokenizer


@dataclass(frozen=True)
class RoutingWeights:
    """How the three kinds of evidence combine; tuned on development data, kept explicit."""

    matter: float = 1.0
    second_matter: float = 0.3
    profile: float = 0.7
    keyword: float = 2.0
    temperature: float = 0.18
    evidence_scale: float = 6.0


@dataclass(frozen=True)
class DepartmentScore:
    department: Department
    score: float
    confidence: float
    matter: Matter | None
    keywords: tuple[str, ...]
    duty: str

    @property
    def territorial(self) -> bool:
        return self.department.territorial or (self.matter is not None and self.matter.territorial)

    def reason(self) -> str:
        """Why this department: the catalogue entry and duty that matched, in words."""
        name = self.department.short_name
        hits = "、".join(self.keywords[:4])
        if self.matter is not None:
            text = f"匹配派单目录“{name}”的典型事项“{self.matter.name}”"
            if hits:
                text += f"，命中关键词“{hits}”"
        elif hits:
            text = f"命中派单目录“{name}”的关键词“{hits}”"
        else:
            text = f"与派单目录“{name}”的职责描述相近"
        return f"{text}；对应职责：{self.duty}"


class DepartmentRouter:
    def __init__(self, catalogue: Catalogue, weights: RoutingWeights | None = None) -> None:
        self.catalogue = catalogue
        self.weights = weights or RoutingWeights()
        departments = catalogue.departments
        register_catalogue_words(catalogue)
        self._matter_owner: list[tuple[int, Matter]] = []
        matter_documents: list[list[str]] = []
        for index, department in enumerate(departments):
            for matter in department.matters:
                self._matter_owner.append((index, matter))
                matter_documents.append(terms(normalise(matter.name)))
        self._matters = BM25(matter_documents)
        self._profiles = BM25([terms(normalise(_profile(d))) for d in departments])
        self._keywords: list[list[tuple[str, float]]] = []
        spread: dict[str, int] = {}
        literal_sets = [_literals(department) for department in departments]
        for literals in literal_sets:
            for literal in literals:
                spread[literal] = spread.get(literal, 0) + 1
        total = len(departments)
        for literals in literal_sets:
            self._keywords.append(
                [
                    (literal, math.log(1.0 + total / spread[literal]) * min(len(literal), 4) / 4)
                    for literal in sorted(literals, key=lambda word: (-len(word), word))
                ]
            )

    def rank(self, text: str) -> list[DepartmentScore]:
        """Departments with any evidence, best first; empty when nothing in the text matches."""
        clean = normalise(text)
        query = terms(clean)
        weights = self.weights
        departments = self.catalogue.departments
        best: dict[int, list[tuple[float, Matter]]] = {}
        for doc, score in self._matters.scores(query).items():
            owner, matter = self._matter_owner[doc]
            best.setdefault(owner, []).append((score, matter))
        profile = self._profiles.scores(query)
        raw: list[tuple[float, int, Matter | None, tuple[str, ...]]] = []
        for index in range(len(departments)):
            matters = sorted(best.get(index, []), key=lambda item: item[0], reverse=True)
            hits = _hits(clean, self._keywords[index])
            keyword_score = sum(weight for _, weight in hits)
            score = (
                weights.matter * (matters[0][0] if matters else 0.0)
                + weights.second_matter * (matters[1][0] if len(matters) > 1 else 0.0)
                + weights.profile * profile.get(index, 0.0)
                + weights.keyword * keyword_score
            )
            if score > 0:
                top_matter = matters[0][1] if matters else None
                raw.append((score, index, top_matter, tuple(word for word, _ in hits)))
        if not raw:
            return []
        raw.sort(key=lambda item: item[0], reverse=True)
        top = raw[0][0]
        exps = [math.exp((score - top) / (weights.temperature * top)) for score, *_ in raw]
        total = sum(exps)
        evidence = 1.0 - math.exp(-top / weights.evidence_scale)
        return [
            DepartmentScore(
                department=departments[index],
                score=score,
                confidence=evidence * share / total,
                matter=matter,
                keywords=hits,
                duty=_duty(departments[index], clean, matter, hits),
            )
            for (score, index, matter, hits), share in zip(raw, exps, strict=True)
        ]


def register_catalogue_words(catalogue: Catalogue) -> None:
    """Teaches the routing tokenizer the catalogue's terms (公积金, 暖气片), so that the rules and
    the learned word features cut text the same way whichever was built first."""
    tokenizer(
        word
        for department in catalogue.departments
        for word in (*department.keywords, *department.aliases, department.short_name)
    )


def _duty(department: Department, text: str, matter: Matter | None, hits: tuple[str, ...]) -> str:
    """The duty sentence closest to the evidence, so the reason quotes the relevant remit."""
    evidence = text + (matter.name if matter else "") + "".join(hits) * 2
    wanted = {evidence[i : i + 2] for i in range(len(evidence) - 1)}
    sentences = [part.strip() for part in department.duties.split("。") if part.strip()]

    def overlap(sentence: str) -> int:
        return sum(sentence[i : i + 2] in wanted for i in range(len(sentence) - 1))

    return max(sentences, key=overlap) if sentences else department.duties


def _profile(department: Department) -> str:
    return " ".join(
        [
            department.short_name,
            *department.aliases,
            department.duties,
            *department.keywords,
            *(matter.name for matter in department.matters),
        ]
    )


def _literals(department: Department) -> set[str]:
    words = {*department.keywords, *department.aliases, department.short_name}
    return {normalise(word) for word in words if len(normalise(word)) >= 1}


def _hits(text: str, literals: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Literal keywords found in ``text`` in reading order; one inside a longer hit counts once."""
    found: list[tuple[str, float]] = []
    for literal, weight in literals:
        if literal in text and not any(literal in longer for longer, _ in found):
            found.append((literal, weight))
    return sorted(found, key=lambda hit: text.find(hit[0]))
