"""What citizens read about the handoff, and the buttons that go with it.

Button payloads starting with ``/handoff_`` are handled by the gateway itself and never
reach Rasa; ``/ask_human`` and ``/register_request`` go to Rasa as those intents, so that
the dialogue's record shows them like a typed 转人工 or 我要登记工单.
"""

from __future__ import annotations

import math
from datetime import datetime

from bot.conversation import Button

CANCEL_PAYLOAD = "/handoff_cancel"
NOTE_PAYLOAD = "/handoff_note"
HUMAN_PAYLOAD = "/ask_human"
WORK_ORDER_PAYLOAD = "/register_request"  # the work-order dialogue (actions/workorders/request.py)

CANCEL_BUTTON = Button("取消排队", CANCEL_PAYLOAD)
NOTE_BUTTON = Button("留言", NOTE_PAYLOAD)
WORK_ORDER_BUTTON = Button("登记工单", WORK_ORDER_PAYLOAD)
HUMAN_BUTTON = Button("转人工客服", HUMAN_PAYLOAD)

CANCEL_WORDS = frozenset({CANCEL_PAYLOAD, "取消排队", "取消", "不等了", "不用了", "不排了"})
NOTE_WORDS = frozenset({NOTE_PAYLOAD, "留言", "我要留言", "我想留言"})
NOTE_CANCEL_WORDS = frozenset({"取消", "取消留言", "不留言了", "不用了", CANCEL_PAYLOAD})

OFFER_AFTER_FAILURES = (
    "抱歉，我好像没能理解您的意思。需要为您转接人工客服吗？您也可以换个说法再问我一次。"
)
CANCELLED = "已为您取消排队，接下来由智能助手继续为您服务。"
NOTE_PROMPT = (
    "请直接输入您的留言内容（您反映的问题、地点和联系电话），发送后即完成留言。"
    "如不想留言了，请回复“取消”。"
)
NOTE_CANCELLED = "好的，已取消留言。请问还有什么可以帮您？"
HANDED_BACK = (
    "人工客服已结束本次服务，接下来由智能助手继续为您服务。如还需要人工服务，请随时说“转人工”。"
)
CLOSED = "本次人工服务已结束，感谢您的耐心。如还有其他问题，欢迎随时咨询。"
REQUEUED = "正在为您重新安排客服，请稍候。"
WITH_AGENT_ALREADY = "人工客服正在为您服务，请直接告诉客服您的问题；如需结束，也请告诉客服。"
HOTLINE = "如情况紧急，也可以直接拨打12345热线电话。"


def wait_text(minutes: float) -> str:
    if minutes <= 1:
        return "1分钟以内"
    return f"约{math.ceil(minutes)}分钟"


def queued(ahead: int, wait_minutes: float, long_wait: bool) -> str:
    if ahead == 0:
        place = f"您是下一位，预计{wait_text(wait_minutes)}接入。"
    else:
        place = f"您前面还有{ahead}位市民在等待，预计等待{wait_text(wait_minutes)}。"
    text = (
        "好的，正在为您转接人工客服。"
        + place
        + "客服接入后会在这里直接回复您，请不要离开。等待期间您可以先描述一下问题，客服接入后会看到。"
    )
    if long_wait:
        text += "当前排队人数较多，您也可以选择留言或直接登记工单，不必等待。"
    return text


def still_waiting(position: int, wait_minutes: float) -> str:
    return (
        f"已收到，客服接入后会看到您的消息。您目前排在第{position}位，"
        f"预计还需等待{wait_text(wait_minutes)}。如不想等待，请回复“取消排队”。"
    )


def after_hours(hours: str, next_opening: datetime | None) -> str:
    when = ""
    if next_opening is not None:
        when = (
            f"下次人工服务时间为{next_opening.month}月{next_opening.day}日 {next_opening:%H:%M}起。"
        )
    return (
        f"现在不是在线人工服务时间（{hours}），暂时无法为您转接人工客服。{when}"
        "您可以留言，工作人员上班后会尽快回复您；也可以直接登记工单，由相关部门专人办理。" + HOTLINE
    )


def nobody_free() -> str:
    return (
        "抱歉，目前暂时没有可以接待的在线人工客服。"
        "您可以留言，工作人员会尽快回复您；也可以直接登记工单，由相关部门专人办理。" + HOTLINE
    )


def note_saved(note_id: int) -> str:
    return f"您的留言已记录（留言编号 {note_id}），工作人员会尽快回复您，回复会发送到当前对话中，请留意。"


def claimed(agent_name: str) -> str:
    return f"人工客服{agent_name}已接入，请问有什么可以帮您？"


def transferred(agent_name: str) -> str:
    return f"已为您转接人工客服{agent_name}，请稍候。"
