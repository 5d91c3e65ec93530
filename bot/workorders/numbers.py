"""Work-order numbers (``GD`` + yyyymmdd + 5 digits) and acceptance numbers (``SL`` + …).

The acceptance number (受理号) is what the assistant gives the citizen the moment a request
is written to the outbox, before the work-order system has answered. It is for people to
read, not the idempotency key of the delivery (each outbox entry has its own random key):
a number handed out twice must never make the platform refuse a citizen's request.

Each outbox backend counts in its own block of the day's serials, so moving from the SQL
outbox to Redis (or back) on the same day cannot hand out a number a second time.
"""

from __future__ import annotations

import re
from datetime import date

ORDER_PREFIX = "GD"
ACCEPTANCE_PREFIX = "SL"
SERIAL_DIGITS = 5
MAX_SERIAL = 10**SERIAL_DIGITS - 1

ORDER_NO_RE = re.compile(r"GD\d{13}")
ACCEPTANCE_NO_RE = re.compile(r"SL\d{13}")
_ANY_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9])([GgSs][DdLl])\s*-?\s*(\d{8})\s*-?\s*(\d{5})(?!\d)")


ACCEPTANCE_BLOCK_SIZE = 49_999
SQL_ACCEPTANCE_BLOCK = 0  # SL…00001 to SL…49999
REDIS_ACCEPTANCE_BLOCK = 50_000  # SL…50001 to SL…99999


class NumberSpaceExhausted(RuntimeError):
    """More than 99,999 numbers were requested for one day."""


def format_number(prefix: str, day: date, serial: int) -> str:
    if not 1 <= serial <= MAX_SERIAL:
        raise NumberSpaceExhausted(f"serial {serial} out of range for {prefix}{day:%Y%m%d}")
    return f"{prefix}{day:%Y%m%d}{serial:0{SERIAL_DIGITS}d}"


def acceptance_number(day: date, serial: int, block: int) -> str:
    """The ``serial``-th acceptance number of ``day`` in an outbox backend's ``block``."""
    if serial > ACCEPTANCE_BLOCK_SIZE:
        raise NumberSpaceExhausted(f"acceptance serial {serial} out of range for {day:%Y%m%d}")
    return format_number(ACCEPTANCE_PREFIX, day, block + serial)


def sequence_name(prefix: str, day: date) -> str:
    """The name of the per-day counter behind the numbers with this prefix."""
    return f"{prefix}{day:%Y%m%d}"


def is_order_no(text: str) -> bool:
    return ORDER_NO_RE.fullmatch(text) is not None


def is_acceptance_no(text: str) -> bool:
    return ACCEPTANCE_NO_RE.fullmatch(text) is not None


def find_number(text: str) -> str | None:
    """The first work-order or acceptance number in free text, normalised (``gd 2026…`` too)."""
    for match in _ANY_NUMBER_RE.finditer(text):
        prefix = match.group(1).upper()
        if prefix in (ORDER_PREFIX, ACCEPTANCE_PREFIX):
            return f"{prefix}{match.group(2)}{match.group(3)}"
    return None
