"""How the console masks a conversation: the citizen's personal data, not the bot's examples.

A citizen's (or agent's) message is masked wherever the detectors find personal data. The
bot's own text is different: "例如：历下区泉城路123号" is an example, not anyone's address,
and masking it ("泉城路***号") only confuses the reviewer; so in the bot's text only what
the citizen gave in the same conversation is masked (a phone number read back to them).

Each masked part carries a synthetic stand-in of the same shape (13800005678, 经十路1号):
copying from a masked message yields that, usable as an example or an entity value, never
stars; the real value is copied where the reviewer chose to see personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.privacy import Span, find_personal_data

_STARS = re.compile(r"\*+")
_SEPARATORS = re.compile(r"[\s\-—]")
_MIN_SHARED_CHARS = 4  # a part of an address read back ("12345号") still counts as given


@dataclass(frozen=True)
class Piece:
    text: str  # as shown
    copy: str | None = None  # what copying it gives, when that differs from what is shown


def synthetic(span: Span) -> str:
    """The mask with its stars filled: zeros in numbers, a single 1 in addresses."""
    if span.kind == "address":
        return _STARS.sub("1", span.masked)
    return span.masked.replace("*", "0")


def _key(text: str) -> str:
    return _SEPARATORS.sub("", text)


def given_values(texts: Iterable[str]) -> frozenset[str]:
    """The personal data found in these (the citizen's) messages, for ``masked_pieces``."""
    return frozenset(
        _key(text[span.start : span.end]) for text in texts for span in find_personal_data(text)
    )


def _given(key: str, given: frozenset[str]) -> bool:
    return key in given or any(
        min(len(key), len(value)) >= _MIN_SHARED_CHARS and (key in value or value in key)
        for value in given
    )


def masked_pieces(text: str, only: frozenset[str] | None = None) -> tuple[Piece, ...]:
    """``text`` as plain parts and masked ones; with ``only``, just those values are masked."""
    pieces: list[Piece] = []
    position = 0
    for span in find_personal_data(text):
        if only is not None and not _given(_key(text[span.start : span.end]), only):
            continue
        if span.start > position:
            pieces.append(Piece(text[position : span.start]))
        pieces.append(Piece(span.masked, synthetic(span)))
        position = span.end
    if position < len(text):
        pieces.append(Piece(text[position:]))
    return tuple(pieces)
