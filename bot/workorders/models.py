"""The vocabulary shared by the dialogue, the outbox, the connector and the reference service.

Plain dataclasses and enums with a JSON form, so that the same objects travel through the
outbox, over HTTP and into the dialogue without a second set of definitions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Stages of a work order: 受理 → 派单 → 签收 → 办理 → 答复 → (回访) → 办结."""

    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    SIGNED = "signed"
    HANDLING = "handling"
    RETURNED = "returned"
    REPLIED = "replied"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """Still with the hotline or a department, i.e. not yet answered or ended."""
        return self in OPEN_STATUSES

    @property
    def is_final(self) -> bool:
        return self in (Status.CLOSED, Status.CANCELLED)


_STATUS_LABELS = {
    Status.ACCEPTED: "已受理",
    Status.DISPATCHED: "已派单",
    Status.SIGNED: "已签收",
    Status.HANDLING: "办理中",
    Status.RETURNED: "已退单，待改派",
    Status.REPLIED: "已答复，待回访",
    Status.CLOSED: "已办结",
    Status.CANCELLED: "已撤销",
}

OPEN_STATUSES = frozenset(
    {Status.ACCEPTED, Status.DISPATCHED, Status.SIGNED, Status.HANDLING, Status.RETURNED}
)


class Rating(StrEnum):
    """The citizen's verdict at 回访 (callback)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"

    @property
    def label(self) -> str:
        return _RATING_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Rating:
        """Accepts the code or the Chinese word a citizen types (满意 / 基本满意 / 不满意)."""
        cleaned = text.strip().lower()
        for rating in cls:
            if cleaned == rating.value:
                return rating
        compact = "".join(cleaned.split())
        if "不满意" in compact or compact in {"差评", "不满"}:
            return cls.DISSATISFIED
        if "基本满意" in compact or compact in {"一般", "还行"}:
            return cls.BASICALLY_SATISFIED
        if "满意" in compact or compact in {"好评", "很好"}:
            return cls.SATISFIED
        raise ValueError(f"unknown rating {text!r}")


_RATING_LABELS = {
    Rating.SATISFIED: "满意",
    Rating.BASICALLY_SATISFIED: "基本满意",
    Rating.DISSATISFIED: "不满意",
}


class Card(StrEnum):
    """Deadline warning states: 黄牌 when the last working day has come, 红牌 when overdue."""

    NONE = "none"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label(self) -> str:
        return {Card.NONE: "", Card.YELLOW: "黄牌预警", Card.RED: "红牌超期"}[self]


@dataclass(frozen=True)
class CitizenRequest:
    """What the dialogue collected from the citizen, ready to become a work order."""

    content: str
    phone: str
    address: str = ""
    district: str = ""
    name: str = ""
    request_type: str = ""
    department: str = ""
    urgent: bool = False
    confidential: bool = False
    consent_to_contact: bool = True
    channel: str = ""
    channel_user: str = ""
    conversation_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CitizenRequest:
        known = {name for name in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        return cls(**values)


@dataclass(frozen=True)
class ContactProof:
    """Evidence that the person asking owns a phone number, before their orders are listed.

    Either a work-order (or acceptance) number created with that phone, or the channel
    identity (e.g. a WeChat openid) that created one of them.
    """

    order_no: str = ""
    channel: str = ""
    channel_user: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Deadline:
    """A time limit and the moment it ends."""

    due_at: datetime
    kind: str
    description: str
    in_hours: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "due_at": self.due_at.isoformat(),
            "kind": self.kind,
            "description": self.description,
            "in_hours": self.in_hours,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deadline:
        return cls(
            due_at=datetime.fromisoformat(str(data["due_at"])),
            kind=str(data.get("kind", "")),
            description=str(data.get("description", "")),
            in_hours=bool(data.get("in_hours", False)),
        )


@dataclass(frozen=True)
class OrderEvent:
    at: datetime
    action: str
    label: str
    status: Status
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "action": self.action,
            "label": self.label,
            "status": self.status.value,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderEvent:
        return cls(
            at=datetime.fromisoformat(str(data["at"])),
            action=str(data["action"]),
            label=str(data.get("label", "")),
            status=Status(data["status"]),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True)
class OrderView:
    """A work order as shown to the citizen who owns it (or, with ``full=False``, to anyone
    who knows its number: status and dates only, no content, address or reply)."""

    order_no: str
    status: Status
    department: str
    request_type: str
    accepted_at: datetime
    deadline: Deadline | None
    card: Card = Card.NONE
    supervised: bool = False
    rework_count: int = 0
    rating: Rating | None = None
    acceptance_no: str = ""
    full: bool = False
    content: str = ""
    address: str = ""
    reply: str = ""
    history: tuple[OrderEvent, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "order_no": self.order_no,
            "status": self.status.value,
            "status_label": self.status.label,
            "department": self.department,
            "request_type": self.request_type,
            "accepted_at": self.accepted_at.isoformat(),
            "deadline": self.deadline.to_json() if self.deadline else None,
            "card": self.card.value,
            "supervised": self.supervised,
            "rework_count": self.rework_count,
            "rating": self.rating.value if self.rating else None,
            "acceptance_no": self.acceptance_no,
            "full": self.full,
            "content": self.content,
            "address": self.address,
            "reply": self.reply,
            "history": [event.to_json() for event in self.history],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderView:
        deadline = data.get("deadline")
        rating = data.get("rating")
        return cls(
            order_no=str(data["order_no"]),
            status=Status(data["status"]),
            department=str(data.get("department", "")),
            request_type=str(data.get("request_type", "")),
            accepted_at=datetime.fromisoformat(str(data["accepted_at"])),
            deadline=Deadline.from_json(deadline) if isinstance(deadline, dict) else None,
            card=Card(data.get("card", "none")),
            supervised=bool(data.get("supervised", False)),
            rework_count=int(data.get("rework_count", 0)),
            rating=Rating(rating) if rating else None,
            acceptance_no=str(data.get("acceptance_no", "")),
            full=bool(data.get("full", False)),
            content=str(data.get("content", "")),
            address=str(data.get("address", "")),
            reply=str(data.get("reply", "")),
            history=tuple(OrderEvent.from_json(item) for item in data.get("history", [])),
        )


@dataclass(frozen=True)
class MergeCandidate:
    """An open order (or a request still in the outbox) that looks like the same matter at
    the same place, offered to the citizen for 并单 instead of a new order."""

    number: str
    summary: str
    address: str
    department: str
    status_label: str
    score: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MergeCandidate:
        return cls(
            number=str(data["number"]),
            summary=str(data.get("summary", "")),
            address=str(data.get("address", "")),
            department=str(data.get("department", "")),
            status_label=str(data.get("status_label", "")),
            score=float(data.get("score", 0.0)),
            reason=str(data.get("reason", "")),
        )
