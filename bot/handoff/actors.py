"""Who acts in the agent workspace, and how the domain says no to them.

Kept apart from the services so that the calls and notes services, the handoff service and
the gateway's error middleware share one refusal type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_AGENT_MESSAGE_CHARS = 2000


class HandoffRefused(Exception):
    """The action is not allowed for this agent or this conversation; Chinese message."""

    def __init__(self, message: str, code: str = "refused", status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Actor:
    """The console user doing something; supervisors may act on any conversation."""

    user_id: int
    username: str
    display_name: str
    supervisor: bool = False


def agent_text(text: str) -> str:
    """What an agent sends a citizen, trimmed; refused when empty or too long."""
    text = text.strip()
    if not text:
        raise HandoffRefused("消息内容不能为空。", "empty", 400)
    if len(text) > MAX_AGENT_MESSAGE_CHARS:
        raise HandoffRefused(f"消息请控制在 {MAX_AGENT_MESSAGE_CHARS} 字以内。", "too_long", 400)
    return text
