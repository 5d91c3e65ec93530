"""The vocabulary shared by the dialogue, the outbox, the connector and the reference service.

Plain dataclasses and enums with a JSON form, so that the same objects travel through the
outbox, over HTTP and into the dialogue without a second set of definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
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


class InvalidField(ValueError):
    """A field that is missing or of the wrong type; ``field`` names it (``request.address``)
    and ``message`` says what is wrong in Chinese, for a 422 the caller can act on."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_fields(
    data: Mapping[str, Any], types: Mapping[str, tuple[type, ...]], prefix: str = ""
) -> None:
    """Raises :class:`InvalidField` for the first value in ``data`` whose type is not one of
    ``types[name]`` (``bool`` is not taken for a number, nor a number for text)."""
    wording = {str: "文本", bool: "true 或 false", type(None): "null", int: "整数"}
    for name, allowed in types.items():
        if name not in data:
            continue
        value = data[name]
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            label = f"{prefix}{name}"
            expected = "或".join(wording[kind] for kind in allowed)
            raise InvalidField(label, f"字段 {label} 的格式不正确，应为{expected}。")


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
    def from_json(cls, data: Mapping[str, Any], prefix: str = "request.") -> CitizenRequest:
        """Checks every field's type: an address sent as the number 12345 used to be stored
        and then broke every 并单 search. Unknown keys are ignored."""
        for name in _REQUIRED_REQUEST_FIELDS:
            if name not in data:
                raise InvalidField(f"{prefix}{name}", f"缺少字段 {prefix}{name}。")
        check_fields(data, _REQUEST_FIELD_TYPES, prefix)
        return cls(**{name: data[name] for name in _REQUEST_FIELD_TYPES if name in data})

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> CitizenRequest:
        """Reads a stored request leniently: rows written before :meth:`from_json` checked
        types (a number where text belongs) must not make every later read fail."""
        values: dict[str, Any] = {}
        for name, kinds in _REQUEST_FIELD_TYPES.items():
            if name in data:
                value = data[name]
                values[name] = bool(value) if bool in kinds else "" if value is None else str(value)
        return cls(**values)


_REQUEST_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    item.name: (bool,) if item.type == "bool" else (str,) for item in fields(CitizenRequest)
}
_REQUIRED_REQUEST_FIELDS = ("content", "phone")


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
    # reached the work-order system more than a week after ``accepted_at`` (a long outage)
    late_delivery: bool = False

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
            "late_delivery": self.late_delivery,
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
            late_delivery=bool(data.get("late_delivery", False)),
        )


@dataclass(frozen=True)
class OrderPage:
    """One page of the centre's (or a department's) order list, and how many there are."""

    orders: tuple[OrderView, ...]
    total: int
    next_cursor: str | None  # None on the last page

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderPage:
        cursor = data.get("next_cursor")
        return cls(
            orders=tuple(OrderView.from_json(item) for item in data.get("orders", [])),
            total=int(data.get("total", 0)),
            next_cursor=str(cursor) if cursor else None,
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
