"""What the citizen reads before and after a request is filed: the summary to confirm,
the predicted type and handling unit (which the citizen may change), the merge offer,
lists of orders.

Citizens see the type and the unit in plain words, never the classifier's reasoning, cue
words or confidences (those are for agents, see ``bot.routing.answer``). An unsure
prediction is not passed off as a decision: an unsure type is asked, an unsure unit is left
to the hotline staff to dispatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.routing import REQUEST_TYPES, Classification
from bot.workorders.desk import StatusReport
from bot.workorders.models import MergeCandidate

# Below this confidence the classifier's request type yields to the intent that started
# the request (the citizen said 投诉 or 举报 in so many words).
TYPE_TRUST = 0.5
MAX_LISTED = 5
MAX_SHOWN_MATTER = 200
# How many units the citizen is offered to choose from at the summary.
MAX_UNITS = 3
# An alternative unit is offered only from this probability up: below it the list held units
# a citizen finds absurd for barbecue smoke (应急管理局 at 0.11; 文旅局 at 0.21, for the
# 文化 of 文化东路). On every 4th development message (../shared/data/eval-dev, 1180
# alternatives), the share of alternatives in the message's own topic domain rises with the
# floor: 40 % of those dropped, 48 % kept at 0.15, 51 % at 0.2, 56 % at 0.25 (9 % of them
# kept), 60 % at 0.3. Otherwise the citizen sees the unit and "由工作人员判断".
MIN_ALTERNATIVE_CONFIDENCE = 0.25
STAFF_CHOOSE = "不确定，由工作人员判断"
STAFF_DISPATCH = "由12345热线工作人员判断后派单"
TYPE_QUESTION = "请问您这件事属于哪一类诉求？请选择一项："
UNIT_QUESTION = "请选择承办单位；不确定的话，可以交给热线工作人员判断："


@dataclass(frozen=True)
class UnitOption:
    """A handling unit the citizen may choose at the summary."""

    name: str
    short_name: str


@dataclass(frozen=True)
class Routing:
    """The prediction read back to the citizen and written into the work order."""

    request_type: str
    type_confidence: float
    # The handling unit's full name; "" when the hotline staff dispatch by hand (nothing
    # routed, the classifier unsure, or the citizen left it to them).
    department: str
    department_confidence: float
    district: str
    needs_place: bool
    warning: str  # an emergency or out-of-scope route the citizen must hear
    # The catalogue department whose remit the matter is (a 属地 matter is handled by the
    # district under its guidance): the prediction evaluations compare with labelled history.
    department_id: str = ""
    # Neither the citizen nor the classifier is sure of the type: the citizen is asked.
    type_unsure: bool = False
    units: tuple[UnitOption, ...] = ()  # what the citizen may choose from, best first

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Routing:
        return cls(
            request_type=str(data.get("request_type", "")),
            type_confidence=float(data.get("type_confidence", 0.0)),
            department=str(data.get("department", "")),
            department_confidence=float(data.get("department_confidence", 0.0)),
            district=str(data.get("district", "")),
            needs_place=bool(data.get("needs_place", False)),
            warning=str(data.get("warning", "")),
            department_id=str(data.get("department_id", "")),
            type_unsure=bool(data.get("type_unsure", False)),
            units=tuple(
                UnitOption(str(unit.get("name", "")), str(unit.get("short_name", "")))
                for unit in data.get("units") or []
                if isinstance(unit, dict)
            ),
        )

    def chosen(self, request_type: str | None, department: str | None) -> Routing:
        """The routing with the citizen's choices at the summary (None: not chosen; a
        department of "" leaves it to the hotline staff)."""
        routing = self
        if request_type:
            routing = replace(routing, request_type=request_type, type_unsure=False)
        if department is not None:
            routing = replace(routing, department=department)
        return routing


def route(classification: Classification, stated_type: str | None) -> Routing:
    """The routing for a request; ``stated_type`` is the type the starting intent implied."""
    kind = classification.request_type
    if stated_type and (classification.type_confidence < TYPE_TRUST or kind == "咨询"):
        kind = stated_type
    place = classification.place
    warning = ""
    if classification.emergency is not None:
        emergency = classification.emergency
        warning = f"如果情况紧急，请立即拨打{emergency.number}（{emergency.service}）。"
    elif classification.out_of_scope is not None:
        warning = f"这类事项可能不属于12345受理范围：{classification.out_of_scope.route}"
    leads = classification.department_alternatives
    unit = classification.department
    return Routing(
        request_type=kind,
        type_confidence=round(classification.type_confidence, 4),
        # never a unit the classifier is unsure of: a wrong one sends the matter on a detour
        department=unit.name if unit is not None and not classification.department_unsure else "",
        department_confidence=round(classification.department_confidence, 4),
        district=place.district.name if place is not None and place.district else "",
        needs_place=classification.needs_place,
        warning=warning,
        department_id=leads[0].id if leads else "",
        type_unsure=classification.type_unsure and not stated_type,
        units=_unit_options(classification),
    )


def _unit_options(classification: Classification) -> tuple[UnitOption, ...]:
    """The handling unit and the next alternatives. A 属地 unit (a district government)
    stands for the lead department, which only guides it; a 属地 alternative is the
    district of the place, and left out while the place is unknown."""
    unit = classification.department
    leads = classification.department_alternatives
    place = classification.place
    district = place.district if place is not None else None
    options = [UnitOption(unit.name, unit.short_name)] if unit is not None else []
    for lead in leads[1:] if unit is not None else leads:
        if lead is not leads[0] and lead.confidence < MIN_ALTERNATIVE_CONFIDENCE:
            continue
        option = UnitOption(lead.name, lead.short_name)
        if lead.territorial:
            if district is None:
                continue
            option = UnitOption(district.government, district.name)
        if all(known.name != option.name for known in options):
            options.append(option)
    return tuple(options[:MAX_UNITS])


def mask_phone(phone: str) -> str:
    """13912345678 → 139****5678; 0531-86081234 → 0531-****1234 (the screen may be shared)."""
    if "-" in phone:
        area, _, rest = phone.partition("-")
        local = rest.split("-")[0]
        return f"{area}-{'*' * max(len(local) - 4, 0)}{local[-4:]}"
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else phone


@dataclass(frozen=True)
class Draft:
    """The answers of the form, as read back."""

    matter: str
    location: str
    phone: str
    name: str
    consent_contact: bool
    confidential: bool


def _yes(value: bool) -> str:
    return "是" if value else "否"


def summary_text(draft: Draft, routing: Routing, candidates: Sequence[MergeCandidate]) -> str:
    matter = draft.matter
    if len(matter) > MAX_SHOWN_MATTER:
        matter = matter[: MAX_SHOWN_MATTER - 1] + "…"
    unit = routing.department or STAFF_DISPATCH
    lines = [
        "请核对您的诉求信息：",
        f"· 诉求类型：{routing.request_type}",
        f"· 诉求内容：{matter}",
        f"· 地点：{draft.location}",
        f"· 联系电话：{mask_phone(draft.phone)}",
        f"· 称呼：{draft.name or '未留称呼'}",
        f"· 同意电话联系：{_yes(draft.consent_contact)}；个人信息保密：{_yes(draft.confidential)}",
        f"· 拟派承办单位：{unit}",
    ]
    if routing.needs_place:
        lines.append("（该事项由属地政府办理，地点写明所在区县会派单更快。）")
    if routing.warning:
        lines.append(routing.warning)
    if candidates:
        lines.append("")
        lines.append("另外，我们发现已有相同地点、相同问题的在办诉求：")
        for candidate in candidates:
            lines.append(
                f"· {candidate.number}（{candidate.status_label}）：{candidate.summary}"
                + (f"，地点：{candidate.address}" if candidate.address else "")
            )
        lines.append("您可以选择并入该工单一并办理（并单），办理结果会同时告知您；也可以单独提交。")
    lines.append("")
    lines.append(
        "信息无误请选择“确认提交”；需要更改（包括诉求类型和承办单位）请选择“修改”；"
        "不想提交了请选择“取消”。"
    )
    return "\n".join(lines)


def decision_buttons(candidates: Sequence[MergeCandidate]) -> list[dict[str, str]]:
    return _buttons(["确认提交", *(f"并入工单{c.number}" for c in candidates), "修改", "取消"])


FIELD_BUTTONS = (
    "修改诉求类型",
    "修改承办单位",
    "修改诉求内容",
    "修改地点",
    "修改联系电话",
    "修改称呼",
    "修改是否同意联系",
    "修改是否保密",
)


def field_buttons() -> list[dict[str, str]]:
    return _buttons(FIELD_BUTTONS)


def type_buttons() -> list[dict[str, str]]:
    return _buttons(REQUEST_TYPES)


def unit_buttons(routing: Routing) -> list[dict[str, str]]:
    return _buttons([*(unit.name for unit in routing.units), STAFF_CHOOSE])


def _buttons(titles: Sequence[str]) -> list[dict[str, str]]:
    return [{"title": title, "payload": title} for title in titles]


def order_list_text(reports: Sequence[StatusReport]) -> str:
    """The citizen's orders, newest first, at most a handful."""
    if not reports:
        return "没有查到用这个号码登记的工单。如果是通过电话登记的，请以12345热线的答复为准。"
    shown = reports[:MAX_LISTED]
    lines = [
        f"为您查到 {len(reports)} 件诉求"
        + ("，最近的几件：" if len(reports) > len(shown) else "：")
    ]
    for index, report in enumerate(shown, start=1):
        lines.append(f"{index}. {report.message}")
    lines.append("发送工单号可以查看某一件的详情。")
    return "\n".join(lines)
