"""How the dialogue tells the gateway that the citizen wants a human.

Rasa does not decide whether a human can take over (service hours, agents on duty, the
queue live in the gateway), so ``action_handoff`` only sends this custom payload; the
gateway's gate sees it, replaces it with the queue's answer, and pauses the tracker when
the citizen is queued. Shared here so that the action and the gate cannot drift apart.
"""

from __future__ import annotations

from typing import Any

HANDOFF_KEY = "handoff"
HANDOFF_ACTION = "action_handoff"


def handoff_request(reason: str = "citizen_request") -> dict[str, Any]:
    """The custom message ``action_handoff`` sends (``{"handoff": {"request": reason}}``)."""
    return {HANDOFF_KEY: {"request": reason}}


def is_handoff_request(custom: dict[str, Any] | None) -> bool:
    return bool(custom) and isinstance(custom.get(HANDOFF_KEY), dict)  # type: ignore[union-attr]
