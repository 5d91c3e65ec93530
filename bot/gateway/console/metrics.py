"""Service metrics for a period: the page with its charts, and each chart as CSV; and the
live routing model, whose scores say how far its proposals can be trusted."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from bot.accounts import Permission
from bot.console import charts
from bot.console.export import csv_text
from bot.console.labels import intent_label
from bot.console.metrics import RATE_EXPLANATIONS, TOP_N, Dashboard, dashboard, default_period
from bot.console.questions import QuestionGroup
from bot.gateway import keys
from bot.gateway.auth import audit, require_permission
from bot.gateway.console.common import EXPORT, attachment, console_services, context, wants_unmask
from bot.gateway.console.query import parse_date, parse_int
from bot.gateway.console.routing import model_panel
from bot.gateway.pages import render
from bot.privacy import mask_personal_data
from bot.routing import live_model_info


def _period(request: web.Request) -> tuple[date, date]:
    start, end = default_period()
    start = parse_date(request.query.get("from")) or start
    end = parse_date(request.query.get("to")) or end
    return (start, end) if start <= end else (end, start)


async def _dashboard(request: web.Request) -> Dashboard:
    services = console_services(request)
    start, end = _period(request)
    return await dashboard(services.engine, start, end, services.workorders)


@require_permission(Permission.VIEW_METRICS)
async def metrics_page(request: web.Request) -> web.StreamResponse:
    board = await _dashboard(request)
    unmask = wants_unmask(request)
    await audit(
        request,
        "metrics.view",
        "metrics",
        {"from": board.date_from.isoformat(), "to": board.date_to.isoformat(), "unmasked": unmask},
    )
    pages = max(1, -(-len(board.unanswered) // TOP_N))
    page = min(parse_int(request.query.get("unanswered_page"), 1, 10_000) or 1, pages)
    shown = board.unanswered[(page - 1) * TOP_N : page * TOP_N]
    unanswered = shown if unmask else [_masked(g) for g in shown]
    wo = board.workorders
    period = urlencode({"from": board.date_from.isoformat(), "to": board.date_to.isoformat()})
    return render(
        "console/metrics.html",
        context(
            request,
            "metrics",
            board=board,
            period=period,
            unanswered=unanswered,
            unanswered_page=page,
            unanswered_pages=pages,
            unanswered_first=(page - 1) * TOP_N,
            explain=RATE_EXPLANATIONS,
            per_day_chart=charts.column_chart([(d, n, h) for d, n, h, _ in board.per_day]),
            intents_chart=charts.bar_chart(
                [(intent_label(i), float(n)) for i, n in board.top_intents]
            ),
            ratings_chart=charts.bar_chart([(f"{r} 分", float(n)) for r, n in board.ratings]),
            wo_type_chart=_bars(wo.by_type) if wo else None,
            wo_department_chart=_bars(wo.by_department) if wo else None,
            wo_status_chart=_bars(wo.by_status) if wo else None,
            wo_satisfaction_chart=_bars(wo.satisfaction) if wo else None,
            unmasked=unmask,
            model=model_panel(live_model_info(request.app[keys.SETTINGS])),
        ),
    )


@require_permission(Permission.VIEW_METRICS, EXPORT)
async def metrics_csv(request: web.Request) -> web.StreamResponse:
    board = await _dashboard(request)
    key = request.match_info["key"]
    table = next((t for t in board.tables() if t.key == key), None)
    if table is None:
        raise web.HTTPNotFound()
    unmask = wants_unmask(request)
    rows = table.rows
    if key == "unanswered" and not unmask:
        rows = [
            (mask_personal_data(str(text)), mask_personal_data(str(more)), n)
            for text, more, n in rows
        ]
    await audit(
        request,
        "export.metrics_csv",
        key,
        {"from": board.date_from.isoformat(), "to": board.date_to.isoformat(), "unmasked": unmask},
    )
    return web.Response(
        body=csv_text(table.headers, rows).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers=attachment(f"metrics-{key}-{board.date_from:%Y%m%d}-{board.date_to:%Y%m%d}.csv"),
    )


def _masked(group: QuestionGroup) -> QuestionGroup:
    return QuestionGroup(
        mask_personal_data(group.sample),
        group.asked,
        [mask_personal_data(p) for p in group.phrasings],
    )


def _bars(counts: list[tuple[str, int]]) -> charts.BarChart:
    return charts.bar_chart([(label, float(n)) for label, n in counts])
