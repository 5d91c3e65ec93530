"""Agent assist: suggested answers, the request's type and unit, and a draft work order.

Works the same for an online conversation and a phone call, from the transcript: the
latest things the citizen said are the question for knowledge search; everything they
said is classified and drafted into a work order. Each set of suggestions shown is logged
(:mod:`bot.handoff.feedback`) so that what the agent did with it can be recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.handoff.draft import Draft, build_draft, citizen_statements
from bot.handoff.feedback import ShownSuggestion, SuggestionLog
from bot.routing import Classification
from bot.routing.explain import explain

logger = logging.getLogger(__name__)

QUESTION_STATEMENTS = 2  # the latest statements make the question; earlier ones the context


@dataclass(frozen=True)
class Suggestion:
    """One suggested answer with the source it rests on."""

    text: str
    score: float
    citation: dict[str, Any] | None


class KnowledgeSuggester(Protocol):
    """Knowledge search as the assistant needs it (bot/knowledge behind the gateway)."""

    async def suggest(self, question: str, top_k: int) -> list[Suggestion]: ...


Classify = Callable[[str], Classification]


@dataclass(frozen=True)
class AssistView:
    query: str
    suggestions: tuple[tuple[int, Suggestion], ...]
    classification: dict[str, Any] | None
    explanation: dict[str, Any] | None  # what the agent reads: see bot.routing.explain
    draft: Draft
    knowledge_available: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "suggestions": [
                {
                    "id": suggestion_id,
                    "text": suggestion.text,
                    "score": round(suggestion.score, 4),
                    "citation": suggestion.citation,
                }
                for suggestion_id, suggestion in self.suggestions
            ],
            "classification": self.classification,
            "explanation": self.explanation,
            "draft": self.draft.to_json(),
            "knowledge_available": self.knowledge_available,
        }


class Assistant:
    def __init__(
        self,
        suggester: KnowledgeSuggester | None,
        classify: Classify | None,
        log: SuggestionLog,
        top_k: int = 3,
    ) -> None:
        self.suggester = suggester
        self.classify = classify
        self.log = log
        self.top_k = top_k
        # The last view per (conversation, agent): asking again with nothing new said must
        # not mark the suggestions on screen as ignored and log them a second time.
        self._last: dict[tuple[str, int], AssistView] = {}

    async def assist(
        self, conversation_id: str, agent_id: int, rows: Sequence[Mapping[str, Any]]
    ) -> AssistView:
        statements = citizen_statements(rows)
        query = "；".join(statements[-QUESTION_STATEMENTS:])
        key = (conversation_id, agent_id)
        cached = self._last.get(key)
        if cached is not None and cached.query == query:
            return cached
        suggestions, available = await self._suggest(query)
        ids = await self.log.shown(
            conversation_id,
            agent_id,
            query,
            [ShownSuggestion(s.text, s.score, s.citation) for s in suggestions],
        )
        classification = await self._classify(statements)
        view = AssistView(
            query=query,
            suggestions=tuple(zip(ids, suggestions, strict=True)),
            classification=classification.to_dict() if classification is not None else None,
            explanation=explain(classification).to_json() if classification is not None else None,
            draft=build_draft(statements, classification),
            knowledge_available=available,
        )
        if available:  # after a failure, asking again must search again
            self._last[key] = view
        return view

    def forget(self, conversation_id: str) -> None:
        """The conversation left the agent: the next agent starts afresh."""
        for key in [k for k in self._last if k[0] == conversation_id]:
            del self._last[key]

    async def _suggest(self, query: str) -> tuple[list[Suggestion], bool]:
        """The suggestions, and whether knowledge search could be asked at all."""
        if self.suggester is None:
            return [], False
        if not query:
            return [], True
        try:
            return list(await self.suggester.suggest(query, self.top_k))[: self.top_k], True
        except Exception:
            logger.exception("knowledge search failed for agent assist")
            return [], False

    async def _classify(self, statements: Sequence[str]) -> Classification | None:
        if not statements or self.classify is None:
            return None
        try:
            return await asyncio.to_thread(self.classify, "；".join(statements))
        except Exception:
            logger.exception("classification failed for agent assist")
            return None
