"""The handoff state machine: who answers the citizen, the bot or a human agent.

    bot ──requested──▶ waiting ──claimed──▶ with_agent ──handed_back──▶ bot
     ▲                  │  ▲                 │   │ └─transferred─▶ with_agent (a colleague)
     └───cancelled──────┘  └────requeued─────┘   └──closed──▶ closed ──requested──▶ waiting

Only these moves exist; any other request is refused (:class:`InvalidTransition`), so two
agents racing for one conversation, or a click on a stale page, cannot corrupt it. While
the state is ``waiting`` or ``with_agent`` the bot never answers (the Rasa tracker is
paused too); ``bot`` and ``closed`` both leave the conversation to the bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    WITH_AGENT = "with_agent"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]

    @property
    def human_holds(self) -> bool:
        """The bot must stay silent: a human has, or is about to take, the conversation."""
        return self in (State.WAITING, State.WITH_AGENT)


_STATE_LABELS = {
    State.BOT: "智能助手服务中",
    State.WAITING: "排队等待人工",
    State.WITH_AGENT: "人工服务中",
    State.CLOSED: "已结束",
}


class Event(StrEnum):
    REQUESTED = "requested"
    CANCELLED = "cancelled"
    CLAIMED = "claimed"
    TRANSFERRED = "transferred"
    REQUEUED = "requeued"
    HANDED_BACK = "handed_back"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS = {
    Event.REQUESTED: "进入人工排队",
    Event.CANCELLED: "取消排队",
    Event.CLAIMED: "人工客服接入",
    Event.TRANSFERRED: "转给其他客服",
    Event.REQUEUED: "退回排队",
    Event.HANDED_BACK: "交还智能助手",
    Event.CLOSED: "结束会话",
}


@dataclass(frozen=True)
class Transition:
    sources: frozenset[State]
    target: State


TRANSITIONS: dict[Event, Transition] = {
    Event.REQUESTED: Transition(frozenset({State.BOT, State.CLOSED}), State.WAITING),
    Event.CANCELLED: Transition(frozenset({State.WAITING}), State.BOT),
    Event.CLAIMED: Transition(frozenset({State.WAITING}), State.WITH_AGENT),
    Event.TRANSFERRED: Transition(frozenset({State.WITH_AGENT}), State.WITH_AGENT),
    Event.REQUEUED: Transition(frozenset({State.WITH_AGENT}), State.WAITING),
    Event.HANDED_BACK: Transition(frozenset({State.WITH_AGENT}), State.BOT),
    Event.CLOSED: Transition(frozenset({State.WAITING, State.WITH_AGENT}), State.CLOSED),
}


class InvalidTransition(Exception):
    """The conversation is not in a state where this can happen (e.g. already claimed)."""

    def __init__(self, event: Event, current: State, message: str) -> None:
        super().__init__(f"{event.value} not allowed from {current.value}")
        self.event = event
        self.current = current
        self.message = message


def transition(event: Event, current: State) -> State:
    """The state after ``event``, or :class:`InvalidTransition` with a Chinese message."""
    move = TRANSITIONS[event]
    if current not in move.sources:
        raise InvalidTransition(event, current, refusal(event, current))
    return move.target


def refusal(event: Event, current: State) -> str:
    if event is Event.CLAIMED and current is State.WITH_AGENT:
        return "该会话已被其他客服接入。"
    if current in (State.BOT, State.CLOSED) and event is not Event.REQUESTED:
        return "该会话已不在人工服务中。"
    return f"当前会话状态为“{current.label}”，无法执行“{event.label}”。"
