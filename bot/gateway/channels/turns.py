"""Parsing of a citizen turn arriving as JSON, shared by the REST and WebSocket channels."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class BadTurn(ValueError):
    """The request cannot be a citizen turn; the message is shown to the client."""


@dataclass(frozen=True)
class ParsedTurn:
    conversation_id: str
    text: str


def new_conversation_id() -> str:
    return uuid.uuid4().hex


def parse_turn(body: Any, default_conversation_id: str | None = None) -> ParsedTurn:
    if not isinstance(body, dict):
        raise BadTurn('请求内容应为 JSON 对象，例如 {"sender": "...", "message": "您好"}。')
    sender = body.get("sender", default_conversation_id)
    if sender is None:
        sender = new_conversation_id()
    if not isinstance(sender, str) or not _CONVERSATION_ID.match(sender):
        raise BadTurn("会话标识 sender 格式不正确：应为 1 到 64 位字母、数字或 _.:- 字符。")
    message = body.get("message", body.get("text"))
    if not isinstance(message, str):
        raise BadTurn("缺少消息内容：请在 message 字段中提供文字。")
    return ParsedTurn(conversation_id=sender, text=message)
