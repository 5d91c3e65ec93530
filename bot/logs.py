"""JSON logs with the conversation id on every line.

The id lives in a context variable, so every log call made while a turn is being
handled (in the gateway, a connector or an action) carries it without being passed
around explicitly.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from bot.privacy import mask_personal_data

conversation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conversation_id", default=None
)


@contextmanager
def conversation_context(conversation_id: str) -> Iterator[None]:
    token = conversation_id_var.set(conversation_id)
    try:
        yield
    finally:
        conversation_id_var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; personal data in the message and the traceback is masked."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "conversation_id": getattr(record, "conversation_id", None)
            or conversation_id_var.get(),
            "msg": mask_personal_data(record.getMessage()),
        }
        for key in ("event", "channel", "status", "duration_ms", "intent"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            # Database errors quote the statement's bound values: a citizen's phone number
            # would reach the log through the traceback rather than the message.
            entry["error"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
