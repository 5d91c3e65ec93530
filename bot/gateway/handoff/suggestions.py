"""Knowledge search for the agent workspace: suggested answers with their citations.

Each suggestion is the answer the bot itself would give for that entry (built from the
cited record's own fields, status-aware: a withdrawn standard is never presented as
current), so an agent inserting it says nothing the knowledge base does not say.

The knowledge base is the gateway's one instance (``keys.KNOWLEDGE``), shared with the
agent-assist API (``bot/gateway/handoff/assist_api.py``) and loaded in the background at
start.
"""

from __future__ import annotations

import asyncio
from datetime import date

from bot.handoff.assist import Suggestion
from bot.knowledge.answer import answer_entry
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.runtime import LazyKnowledgeBase


class KnowledgeBaseSuggester:
    """Implements :class:`bot.handoff.assist.KnowledgeSuggester` on the knowledge base."""

    def __init__(self, knowledge: LazyKnowledgeBase) -> None:
        self.knowledge = knowledge

    async def suggest(self, question: str, top_k: int) -> list[Suggestion]:
        if not question.strip():
            return []
        kb = await self.knowledge.get()
        return await asyncio.to_thread(suggestions_from, kb, question, top_k)


def suggestions_from(
    kb: KnowledgeBase, question: str, top_k: int, today: date | None = None
) -> list[Suggestion]:
    today = today or date.today()
    result = kb.search(question, top_k=top_k, today=today)
    suggestions = []
    for hit in result.hits:
        answer = answer_entry(kb, hit.entry.id, today)
        suggestions.append(
            Suggestion(
                text=answer.text if answer is not None else hit.citation.snippet,
                score=hit.confidence,
                citation=hit.citation.to_json(),
            )
        )
    return suggestions
