"""Knowledge search for the agent workspace: suggested answers with their citations.

Each suggestion is the answer the bot itself would give for that entry (built from the
cited record's own fields, status-aware: a withdrawn standard is never presented as
current), so an agent inserting it says nothing the knowledge base does not say.

The knowledge base is the gateway's one instance, the agent-assist API's
(``bot/gateway/assist.py``, loaded in the background at start); a gateway without that
API opens its own on the first suggestion an agent needs.
"""

from __future__ import annotations

import asyncio
from datetime import date

from aiohttp import web

from bot.gateway import keys
from bot.gateway.assist import KNOWLEDGE
from bot.handoff.assist import KnowledgeSuggester, Suggestion
from bot.knowledge.answer import answer_entry
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.runtime import LazyKnowledgeBase


class KnowledgeBaseSuggester:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._own: LazyKnowledgeBase | None = None

    async def _knowledge_base(self) -> KnowledgeBase:
        if KNOWLEDGE in self.app:
            return await self.app[KNOWLEDGE].get()
        if self._own is None:
            self._own = LazyKnowledgeBase(self.app[keys.SETTINGS])
        return await self._own.get()

    async def suggest(self, question: str, top_k: int) -> list[Suggestion]:
        if not question.strip():
            return []
        kb = await self._knowledge_base()
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


def knowledge_suggester(app: web.Application) -> KnowledgeSuggester:
    return KnowledgeBaseSuggester(app)
