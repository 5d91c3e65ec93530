"""A citizen's conversation: input checks, the dialogue engine, the transcript."""

from bot.conversation.models import (
    BotMessage,
    Button,
    CitizenTurn,
    EngineReply,
    TurnResult,
    Understanding,
)
from bot.conversation.service import ConversationService, DialogueEngine, DialogueUnavailable

__all__ = [
    "BotMessage",
    "Button",
    "CitizenTurn",
    "ConversationService",
    "DialogueEngine",
    "DialogueUnavailable",
    "EngineReply",
    "TurnResult",
    "Understanding",
]
