"""Decoding of JSON sent by clients, shared by the gateway and the work-order service.

``json.loads`` is recursive: ``"[" * 30000`` raises ``RecursionError``, which is not a
``ValueError`` and used to escape every handler as a 500 with a traceback. A ``\\ud800``
escape decodes to a lone surrogate, which no database, log or UTF-8 response can encode.
Both are the client's error or noise, so they are answered or repaired here, once.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Far deeper than any body our APIs accept, far shallower than Python's recursion limit.
MAX_DEPTH = 64

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TOO_DEEP = f"请求体的嵌套层级过深（最多 {MAX_DEPTH} 层）。"

Container = list[Any] | dict[str, Any]


class JsonRejected(ValueError):
    """The body cannot be used; the message, in Chinese, tells the client why."""


def parse_json(raw: str | bytes) -> Any:
    """The decoded body, with lone surrogates replaced by U+FFFD (valid pairs were already
    joined by the decoder)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise JsonRejected("请求体不是有效的 JSON（需为 UTF-8 编码）。") from None
    except RecursionError:
        raise JsonRejected(_TOO_DEEP) from None
    root: list[Any] = [data]
    stack: list[tuple[Container, int]] = [(root, 0)]
    while stack:  # no recursion: the client decides how deep the body is
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonRejected(_TOO_DEEP)
        if isinstance(container, dict):
            items = list(container.items())
            container.clear()
            for key, value in items:
                container[_repair(key)] = _visit(value, depth, stack)
        else:
            for index, value in enumerate(container):
                container[index] = _visit(value, depth, stack)
    return root[0]


def _visit(value: Any, depth: int, stack: list[tuple[Container, int]]) -> Any:
    if isinstance(value, str):
        return _repair(value)
    if isinstance(value, (list, dict)):
        stack.append((value, depth + 1))
    return value


def _repair(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text)
