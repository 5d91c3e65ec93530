"""What the citizen is told when their order moves: one polite Chinese sentence per change.

The reference service puts this text into each webhook, so the gateway can forward it to
the citizen's channel as is; other platforms' webhooks can be rendered with the same code.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import BEIJING
from bot.workorders.models import Deadline


def format_due(deadline: Deadline, zone: ZoneInfo = BEIJING) -> str:
    """ "12月4日前" for limits in working days, "12月1日14:30前" for limits in hours."""
    local = deadline.due_at.astimezone(zone)
    if deadline.in_hours:
        return f"{local.month}月{local.day}日{local:%H:%M}前"
    prefix = f"{local.year}年" if local.year != datetime.now(zone).year else ""
    return f"{prefix}{local.month}月{local.day}日前"


def citizen_message(
    action: str,
    order_no: str,
    status: str,
    department: str,
    deadline: Deadline | None,
    data: dict[str, object],
    reply: str = "",
) -> str:
    """The notice for one change (``action`` and ``status`` are the lifecycle's codes)."""
    unit = department or "承办单位"
    due = f"，预计{format_due(deadline)}答复" if deadline else ""
    if action == "accept":
        return f"您的诉求已受理，工单号 {order_no}，我们会尽快派至承办单位办理。"
    if action == "dispatch":
        limit = f"，办理时限{deadline.description}" if deadline else ""
        return f"您的工单 {order_no} 已派至{unit}办理{limit}{due}。"
    if action == "sign":
        return f"{unit}已签收您的工单 {order_no}，正在安排办理。"
    if action == "start":
        return f"{unit}正在办理您的工单 {order_no}。"
    if action == "return":
        return f"您的工单 {order_no} 经核实不属于{unit}的职责范围，热线正在重新派单，请您耐心等待。"
    if action == "reassign":
        return f"您的工单 {order_no} 已改派至{unit}办理{due}。"
    if action == "reply":
        text = reply if len(reply) <= 120 else reply[:119] + "…"
        return (
            f"您的工单 {order_no} 已由{unit}答复：{text}\n"
            "请您对办理结果进行评价：满意、基本满意或不满意。"
        )
    if action == "decide_extension":
        days = data.get("days", "")
        return f"您的工单 {order_no} 情况较复杂，经批准办理时限延长{days}个工作日{due}。"
    if action == "supervise":
        return f"您的工单 {order_no} 已列入督办，热线将督促{unit}尽快办理。"
    if action == "rate":
        if status == "dispatched":
            return f"收到您的评价。您的工单 {order_no} 已转{unit}重新办理{due}。"
        return f"感谢您的评价，工单 {order_no} 已办结。"
    if action == "close":
        return f"您的工单 {order_no} 已办结，如对办理结果不满意，仍可告诉我们进行评价。"
    if action == "cancel":
        return f"您的工单 {order_no} 已撤销。如有需要，欢迎随时再次反映。"
    return f"您的工单 {order_no} 有新的进展，当前状态：{status}。"
