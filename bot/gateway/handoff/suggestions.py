"""Knowledge search for the agent workspace: suggested answers with their citations.

Each suggestion is the answer the bot itself would give for that entry (built from the
cited record's own fields, status-aware: a withdrawn standard is never presented as
current), so an agent inserting it says nothing the knowledge base does not say.

The knowledge base is the gateway's one instance (``keys.KNOWLEDGE``), shared with the
agent-assist API (``bot/gateway/handoff/assist_api.py``) and loaded in the background at
start.

Which hits are worth showing was measured on the 136 starter questions
(tests/knowledge/data/starter_questions.jsonl, 20 of them off-topic) against the starter
corpus with the e5 model, top 3 shown of 9 searched. With no filter (confidence ≥ 0.05)
30% of the shown answers were right and every off-topic question got some; keeping the
named hits and those with confidence ≥ 0.4 (``ASSIST_MIN_SCORE``): 66% right, a right
answer shown for 103 of 116 answerable questions, 2 of 20 off-topic questions shown
anything. At 0.6: 68%, 93 of 116, 0 of 20. 0.4 because the agent reads before inserting,
so a missed right answer costs more than a doubtful one; the gas-leak procedure asked by
barbecue smoke scores 0.33 and is not shown at either.
"""

from __future__ import annotations

import asyncio
from datetime import date

from bot.handoff.assist import Suggestion
from bot.knowledge.answer import answer_entry
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.models import Hit, KnowledgePoint
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.routing.request_type import REQUEST_TYPES

# Keywords that say what kind of request it is, not what it is about (投诉 names a
# complaint about a hospital as much as one about a street light).
_GENERIC = frozenset(REQUEST_TYPES) | {"反映", "办理", "热线", "12345"}
# Search looks further than the list shown, so that dropping unrelated hits still leaves
# up to ``top_k`` relevant ones.
CANDIDATES_PER_SUGGESTION = 3


class KnowledgeBaseSuggester:
    """Implements :class:`bot.handoff.assist.KnowledgeSuggester` on the knowledge base."""

    def __init__(self, knowledge: LazyKnowledgeBase, min_score: float) -> None:
        self.knowledge = knowledge
        self.min_score = min_score

    async def suggest(self, question: str, top_k: int) -> list[Suggestion]:
        if not question.strip():
            return []
        kb = await self.knowledge.get()
        return await asyncio.to_thread(suggestions_from, kb, question, top_k, self.min_score)


def suggestions_from(
    kb: KnowledgeBase, question: str, top_k: int, min_score: float, today: date | None = None
) -> list[Suggestion]:
    """The relevant hits, most likely first (search's own order breaks ties).

    An agent inserts a suggestion with one click, so an unrelated answer (a gas-leak
    procedure for barbecue smoke) is worse than none: a hit is kept when it is an exact
    standard-number match, when search is confident enough (``min_score``, the calibrated
    probability of bot/knowledge/confidence.py), or when the question names the entry (a
    keyword or the title), which also holds where no embedding model gives confidences.
    """
    today = today or date.today()
    result = kb.search(question, top_k=top_k * CANDIDATES_PER_SUGGESTION, today=today)
    hits = [hit for hit in result.hits if _relevant(hit, question, min_score)]
    hits.sort(key=lambda hit: hit.confidence, reverse=True)
    suggestions = []
    for hit in hits[:top_k]:
        answer = answer_entry(kb, hit.entry.id, today)
        suggestions.append(
            Suggestion(
                text=answer.text if answer is not None else hit.citation.snippet,
                score=hit.confidence,
                citation=hit.citation.to_json(),
            )
        )
    return suggestions


def _relevant(hit: Hit, question: str, min_score: float) -> bool:
    if hit.exact or hit.confidence >= min_score:
        return True
    entry = hit.entry
    names = entry.keywords if isinstance(entry, KnowledgePoint) else ()
    return entry.title in question or any(
        len(name) >= 2 and name not in _GENERIC and name in question for name in names
    )
