"""The console's query strings: filters and paging, parsed leniently.

A value the console cannot use is ignored rather than refused, so that an edited or old
bookmark still opens a page; the same parameters are written back into links.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from bot.console.queries import ConversationFilter


def parse_date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _parse_flag(raw: str | None) -> bool | None:
    return {"1": True, "0": False}.get(raw or "")


def _parse_float(raw: str | None, low: float, high: float) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and low <= value <= high else None


def parse_int(raw: str | None, low: int, high: int) -> int | None:
    try:
        value = int(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and low <= value <= high else None


def parse_filters(query: Mapping[str, str]) -> ConversationFilter:
    """Filters from the list page's query string; unusable values are ignored."""
    return ConversationFilter(
        date_from=parse_date(query.get("from")),
        date_to=parse_date(query.get("to")),
        channel=(query.get("channel") or "").strip()[:32] or None,
        intent=(query.get("intent") or "").strip()[:64] or None,
        confidence_below=_parse_float(query.get("conf_below"), 0.0, 1.0),
        fallback=_parse_flag(query.get("fallback")),
        handed_off=_parse_flag(query.get("handoff")),
        workorder=_parse_flag(query.get("workorder")),
        rating=parse_int(query.get("rating"), 1, 5),
        tag=(query.get("tag") or "").strip()[:32] or None,
        reviewed=_parse_flag(query.get("reviewed")),
        flagged=_parse_flag(query.get("flagged")),
        query=(query.get("q") or "").strip()[:100],
    )


_FILTER_PARAMS = (
    "from",
    "to",
    "channel",
    "intent",
    "conf_below",
    "fallback",
    "handoff",
    "workorder",
    "rating",
    "tag",
    "reviewed",
    "flagged",
    "q",
)


def filter_query(query: Mapping[str, str], **extra: Any) -> str:
    params = {k: query[k] for k in _FILTER_PARAMS if query.get(k)}
    params.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)
