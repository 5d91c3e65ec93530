"""What a WeChat message means for the conversation: a turn for the assistant, a reply
the channel gives itself, or nothing to answer.

Only text the assistant can understand goes to the dialogue engine: typed text (or the
payload of a numbered choice), the speech-recognition text of a voice message, the address
of a shared location and the menu's CLICK payloads. Images, unrecognised voice and message
types the assistant cannot read get a polite request for text instead of a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.conversation import Button
from bot.wechat.menu import CLICK_PAYLOADS, MENU_HINT
from bot.wechat.messages import (
    EventMessage,
    ImageMessage,
    InboundMessage,
    LocationMessage,
    TextMessage,
    VoiceMessage,
)
from bot.wechat.render import chosen

WELCOME_REPLY = (
    "您好，欢迎关注12345政务服务便民热线！我是智能客服，可以为您解答政策咨询、查询标准，"
    "受理投诉、举报、求助和建议，并查询工单办理进度。\n\n"
    f"请直接发送文字或语音描述您的问题，也可以{MENU_HINT}。\n\n"
    "如遇火灾、治安、急救、交通事故等紧急情况，请立即拨打119、110、120、122。"
)
VOICE_UNRECOGNISED_REPLY = (
    "抱歉，没能识别您的语音内容。请用文字描述您要咨询或反映的问题，我来帮您处理。"
)
IMAGE_REPLY = (
    "已收到您发送的图片。目前我还无法识别图片内容，请用文字简要说明您要咨询或反映的问题，"
    "以及事情发生的具体地点，我来帮您处理。"
)
LOCATION_WITHOUT_ADDRESS_REPLY = (
    "已收到您的位置。请用文字补充具体地址（如区县、街道、小区和门牌号）以及您要反映的问题。"
)
UNSUPPORTED_REPLY = (
    "抱歉，暂时无法处理这种类型的消息。请用文字或语音描述您要咨询或反映的问题，我来帮您处理。"
)
UNKNOWN_MENU_REPLY = "抱歉，这个菜单暂时无法使用。请直接发送文字描述您的问题，我来帮您处理。"


@dataclass(frozen=True)
class Intake:
    """Exactly one of ``text`` (for the assistant) and ``reply`` (answered here) is set,
    or neither when WeChat expects no answer (unsubscribe, a VIEW link, status events)."""

    text: str | None = None
    reply: str | None = None
    note: str | None = None  # the transcript's line for input that was not text
    metadata: dict[str, Any] = field(default_factory=dict)


def take_in(message: InboundMessage, choices: Sequence[Button] = ()) -> Intake:
    if isinstance(message, TextMessage):
        button = chosen(message.content, choices)
        if button is not None:
            return Intake(text=button.payload, metadata={"wechat": {"choice": button.title}})
        return Intake(text=message.content)
    if isinstance(message, VoiceMessage):
        if message.recognition:
            return Intake(text=message.recognition, metadata={"wechat": {"input": "voice"}})
        return Intake(reply=VOICE_UNRECOGNISED_REPLY, note="[语音]")
    if isinstance(message, ImageMessage):
        return Intake(
            reply=IMAGE_REPLY, note="[图片]", metadata={"wechat": {"pic_url": message.pic_url}}
        )
    if isinstance(message, LocationMessage):
        where = {
            "latitude": message.latitude,
            "longitude": message.longitude,
            "label": message.label,
        }
        if message.label:
            return Intake(text=message.label, metadata={"wechat": {"location": where}})
        return Intake(
            reply=LOCATION_WITHOUT_ADDRESS_REPLY, note="[位置]", metadata={"wechat": where}
        )
    if isinstance(message, EventMessage):
        return _event(message)
    return Intake(reply=UNSUPPORTED_REPLY, note=f"[{message.msg_type or '未知'}消息]")


def _event(event: EventMessage) -> Intake:
    if event.event == "subscribe":
        return Intake(reply=WELCOME_REPLY, note="[关注公众号]")
    if event.event == "click":
        payload = CLICK_PAYLOADS.get(event.event_key)
        if payload is None:
            return Intake(reply=UNKNOWN_MENU_REPLY, note=f"[菜单 {event.event_key}]")
        return Intake(text=payload, metadata={"wechat": {"menu": event.event_key}})
    if event.event == "unsubscribe":
        return Intake(note="[取消关注公众号]")
    return Intake()
