"""The assistant's answer in WeChat's form: plain text, numbered choices, size-limited parts.

WeChat shows no buttons in a text message, so buttons become a numbered list the citizen
answers with a digit. Several bot messages become one text (a passive reply is a single
message), cut into parts under WeChat's limit, at a paragraph or sentence end when there
is one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.conversation import BotMessage, Button

# WeChat caps a text message at 2048 bytes of UTF-8; the margin keeps clear of it.
MAX_TEXT_BYTES = 2000
CHOICE_PROMPT = "请回复数字选择："
_BREAKS = ("\n\n", "\n", "。", "！", "？", "；", "，", " ")
_DIGITS = re.compile(r"^\d{1,2}$")


@dataclass(frozen=True)
class Rendered:
    texts: tuple[str, ...]
    choices: tuple[Button, ...]


def render(messages: Sequence[BotMessage], max_bytes: int = MAX_TEXT_BYTES) -> Rendered:
    blocks: list[str] = []
    choices: list[Button] = []
    for message in messages:
        lines = [message.text.strip()] if message.text.strip() else []
        if message.buttons:
            numbered = [
                f"{len(choices) + i}. {b.title}" for i, b in enumerate(message.buttons, start=1)
            ]
            lines.append("\n".join([CHOICE_PROMPT, *numbered]))
            choices.extend(message.buttons)
        if lines:
            blocks.append("\n\n".join(lines))
    merged = "\n\n".join(blocks)
    parts = tuple(p.strip() for p in split_text(merged, max_bytes))
    return Rendered(texts=tuple(p for p in parts if p), choices=tuple(choices))


def chosen(text: str, choices: Sequence[Button]) -> Button | None:
    """The button a reply picks: its number ("2", "２") or its exact title."""
    reply = unicodedata.normalize("NFKC", text).strip()
    if _DIGITS.match(reply):
        number = int(reply)
        return choices[number - 1] if 1 <= number <= len(choices) else None
    return next((b for b in choices if b.title and b.title == reply), None)


def split_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> list[str]:
    """Parts of ``text`` of at most ``max_bytes`` UTF-8 bytes each; joined, they are ``text``."""
    parts: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > max_bytes:
        cut = _cut(rest, max_bytes)
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return parts


def _cut(text: str, max_bytes: int) -> int:
    fits, used = 0, 0
    for ch in text:
        used += len(ch.encode("utf-8"))
        if used > max_bytes:
            break
        fits += 1
    for mark in _BREAKS:
        at = text.rfind(mark, 0, fits)
        if at >= fits // 2:
            return at + len(mark)
    return max(fits, 1)
