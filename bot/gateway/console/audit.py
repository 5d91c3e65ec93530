"""The audit log: who viewed, exported, unmasked or changed what, and when."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.accounts import Permission
from bot.console.export import csv_text
from bot.gateway import keys
from bot.gateway.auth import audit, require_permission
from bot.gateway.console.common import EXPORT, attachment, context, today
from bot.gateway.console.query import parse_int
from bot.gateway.pages import render


@require_permission(Permission.VIEW_AUDIT_LOG)
async def audit_page(request: web.Request) -> web.StreamResponse:
    before = parse_int(request.query.get("before"), 1, 2**62)
    action = (request.query.get("action") or "").strip()[:64] or None
    username = (request.query.get("username") or "").strip()[:64] or None
    entries = await request.app[keys.ACCOUNTS].audit.entries(
        before_id=before, limit=101, action=action, username=username
    )
    shown = entries[:100]
    next_link = None
    if len(entries) > 100:
        params = {"before": shown[-1].id, "action": action or "", "username": username or ""}
        next_link = "/console/audit?" + urlencode({k: v for k, v in params.items() if v})
    return render(
        "console/audit.html",
        context(
            request,
            "audit",
            entries=shown,
            next_link=next_link,
            action=action or "",
            username=username or "",
        ),
    )


@require_permission(Permission.VIEW_AUDIT_LOG, EXPORT)
async def audit_csv(request: web.Request) -> web.StreamResponse:
    """The whole audit log (newest first), fetched in keyset pages."""
    log = request.app[keys.ACCOUNTS].audit
    rows: list[tuple[Any, ...]] = []
    before: int | None = None
    while True:
        entries = await log.entries(before_id=before, limit=1000)
        rows += [
            (e.id, e.at, e.username, e.action, e.target, e.detail or "", e.ip) for e in entries
        ]
        if len(entries) < 1000:
            break
        before = entries[-1].id
    await audit(request, "export.audit_csv", "audit_log", {"count": len(rows)})
    body = csv_text(("编号", "时间", "用户", "操作", "对象", "详情", "来源地址"), rows)
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers=attachment(f"audit_log_{today()}.csv"),
    )
