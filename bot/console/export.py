"""CSV exports: UTF-8 with a byte-order mark (Excel on Chinese Windows needs it), masked
unless the caller decided otherwise, and safe against spreadsheet formula injection.

A cell a citizen wrote such as ``=HYPERLINK(...)`` would run as a formula when the file is
opened; cells starting with ``= + - @`` (or a tab/CR) get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import beijing_time
from bot.console.labels import CHANNEL_LABELS
from bot.console.queries import ConversationFilter, ConversationSummary, list_conversations
from bot.console.search import SearchIndex
from bot.privacy import mask_personal_data

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CONVERSATION_HEADERS = (
    "序号",
    "会话标识",
    "渠道",
    "开始时间",
    "最后消息时间",
    "轮次",
    "市民诉求",
    "最低置信度",
    "触发兜底",
    "转人工",
    "等待时长（秒）",
    "工单编号",
    "评分",
    "标签",
    "已复核",
    "已标记",
)


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return beijing_time(value)
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        if isinstance(value, dict)
        else str(value)
    )
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = True) -> str:
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue()


def conversation_row(summary: ConversationSummary, *, unmask: bool) -> tuple[Any, ...]:
    matter = summary.matter if unmask else mask_personal_data(summary.matter)
    return (
        summary.seq,
        summary.conversation_id,
        CHANNEL_LABELS.get(summary.channel, summary.channel),
        summary.started_at,
        summary.last_at,
        summary.turns,
        matter,
        "" if summary.min_confidence is None else f"{summary.min_confidence:.3f}",
        summary.fallback,
        summary.handed_off,
        "" if summary.handoff_wait_s is None else f"{summary.handoff_wait_s:.0f}",
        summary.workorder_no,
        summary.rating,
        " ".join(summary.tags),
        summary.reviewed,
        summary.flagged,
    )


async def conversation_csv_chunks(
    engine: AsyncEngine,
    search: SearchIndex,
    filters: ConversationFilter,
    *,
    unmask: bool,
    max_rows: int = 200_000,
) -> AsyncIterator[str]:
    """The filtered conversation list as CSV text, page by page (constant memory)."""
    yield csv_text(CONVERSATION_HEADERS, [])
    cursor: int | None = None
    sent = 0
    while sent < max_rows:
        page = await list_conversations(engine, search, filters, before=cursor, limit=500)
        if not page.rows:
            break
        rows = [conversation_row(s, unmask=unmask) for s in page.rows]
        yield csv_text(CONVERSATION_HEADERS, rows, bom=False).split("\r\n", 1)[1]
        sent += len(rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
