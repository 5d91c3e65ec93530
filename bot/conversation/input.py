"""Cleaning of what a citizen typed, and the polite answers to input that cannot be used.

Channels deliver anything: empty strings, pasted documents, control characters from a
copy, bidirectional overrides, lone surrogates, emoji only. Each gets a clear answer in
Chinese and the conversation goes on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Control characters, zero-width and bidirectional formatting (U+202E can make a stored
# "您好" read backwards in the consoles), and lone surrogates, which no store can encode
# (bot/jsonbody.py turns those sent as JSON escapes into U+FFFD, which goes too).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
    r"\u2066-\u2069\ufeff\ufffd\ud800-\udfff]"
)
_SPACES = re.compile(r"[ \t\u3000]+")
# The full-width punctuation of Chinese typing, which NFKC would turn into ASCII: kept as
# typed, for summaries, transcripts and 留言 read back to the citizen and the departments.
_CHINESE_PUNCTUATION = re.compile(r"([！（），：；？～])")
_MEANINGFUL = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_SYMBOL_CATEGORIES = {"So", "Sk", "Sm", "Sc", "Cs", "Mn", "Me", "Cf"}

EMPTY_REPLY = "您好，请输入您要咨询或反映的内容，我来帮您处理。"
EMOJI_REPLY = "收到您的表情啦。为了更好地帮您，请用文字简单描述一下您要咨询或反映的事情。"


def too_long_reply(limit: int) -> str:
    return (
        f"您的消息太长了（超过{limit}字），请分几次发送，或简要说明主要问题；"
        "详细材料可以在转人工或登记工单后补充。"
    )


@dataclass(frozen=True)
class CleanInput:
    text: str
    rejection: str | None = None
    reason: str | None = None


def clean_citizen_text(raw: str, max_chars: int) -> CleanInput:
    text = "".join(
        part if _CHINESE_PUNCTUATION.fullmatch(part) else unicodedata.normalize("NFKC", part)
        for part in _CHINESE_PUNCTUATION.split(raw)
    )
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text).strip()
    if not text:
        return CleanInput(text="", rejection=EMPTY_REPLY, reason="empty")
    if len(text) > max_chars:
        return CleanInput(
            text=text[:max_chars], rejection=too_long_reply(max_chars), reason="too_long"
        )
    if not _MEANINGFUL.search(text) and all(
        unicodedata.category(ch) in _SYMBOL_CATEGORIES or ch.isspace() for ch in text
    ):
        return CleanInput(text=text, rejection=EMOJI_REPLY, reason="symbols_only")
    return CleanInput(text=text)
