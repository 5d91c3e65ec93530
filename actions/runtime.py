"""What the actions of one action-server process share, made on first use.

Built lazily rather than at import, so that importing the actions (rasa-sdk's scan, the
tests) neither reads the environment nor starts loading anything; tests replace these
functions where the actions look them up.
"""

from __future__ import annotations

from functools import cache

from bot.knowledge.runtime import LazyKnowledgeBase
from bot.settings import Settings


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def knowledge() -> LazyKnowledgeBase:
    """The knowledge base, opened on the first question unless the server preloaded it."""
    return LazyKnowledgeBase(settings())
