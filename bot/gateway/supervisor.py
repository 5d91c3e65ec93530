"""The supervisor console's web side: pages under ``/console/``, exports, the retention job.

Every handler is guarded by a permission (``bot.gateway.auth``); every page and export
shows personal data masked unless the user holds ``unmask_personal_data`` *and* asked for
it (``?unmask=1``), which is written to the audit log, as are views, exports and changes.
Pages are server-rendered (autoescaped Jinja2, strict CSP, charts as inline SVG) and
forms post back with the session's CSRF token, so the console works without JavaScript.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.accounts import Permission
from bot.gateway import keys
from bot.gateway.auth import (
    ACCOUNTS,
    audit,
    csrf_token,
    current_user,
    redirect,
    require_permission,
)
from bot.gateway.pages import SECURITY_HEADERS, render
from bot.privacy import contains_personal_data, mask_personal_data
from bot.settings import Settings
from bot.supervisor import charts
from bot.supervisor.export import conversation_csv_chunks, csv_text
from bot.supervisor.index import CHINA, ConversationIndex, china_day
from bot.supervisor.labels import (
    CHANNEL_LABELS,
    ENTITY_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    intent_label,
)
from bot.supervisor.metrics import Dashboard, dashboard, default_period
from bot.supervisor.nlu_export import load_corrections, mark_exported, to_yaml
from bot.supervisor.queries import (
    ConversationFilter,
    channels,
    conversation_detail,
    known_tags,
    list_conversations,
)
from bot.supervisor.retention import Retention, TrackerPurge, retention_loop
from bot.supervisor.review import EntityInput, Review, ReviewError, project_vocabulary
from bot.supervisor.workorders import WorkOrderSource

logger = logging.getLogger(__name__)

REVIEW = Permission.REVIEW_CONVERSATIONS
EXPORT = Permission.EXPORT_DATA
UNMASK = Permission.UNMASK_PERSONAL_DATA
ENTITY_ROWS = 3


@dataclass(frozen=True)
class ConsoleServices:
    engine: AsyncEngine
    index: ConversationIndex
    review: Review
    retention: Retention
    workorders: WorkOrderSource


CONSOLE = web.AppKey("console", ConsoleServices)


# ---- resources -------------------------------------------------------------------------


def _tracker_purge(settings: Settings, engine: AsyncEngine) -> TrackerPurge:
    if settings.database_url:
        return TrackerPurge(engine)
    from sqlalchemy.ext.asyncio import create_async_engine

    path = settings.var_dir / "rasa_tracker.db"
    return TrackerPurge(create_async_engine(f"sqlite+aiosqlite:///{path}"), sqlite_file=path)


async def supervisor_resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    engine = app[keys.DB]
    index = ConversationIndex(engine)
    await index.setup()
    app[keys.TRANSCRIPT].observers.append(index)
    tracker = _tracker_purge(settings, engine)
    retention = Retention(engine, index.search, tracker)
    workorders = WorkOrderSource(settings)
    app[CONSOLE] = ConsoleServices(
        engine, index, Review(engine, project_vocabulary()), retention, workorders
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_backfill(index))]
    if settings.retention_days > 0:
        tasks.append(
            asyncio.create_task(
                retention_loop(
                    retention,
                    settings.retention_days,
                    settings.retention_mode,
                    settings.retention_interval_minutes * 60.0,
                    stop,
                )
            )
        )
    yield
    stop.set()
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await workorders.close()
    if tracker.engine is not engine:
        await tracker.engine.dispose()


async def _backfill(index: ConversationIndex) -> None:
    try:
        count = await index.backfill_if_empty()
        if count:
            logger.info("indexed %d existing conversations for the console", count)
    except Exception:
        logger.exception("could not index the existing transcript")


def setup_supervisor_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console", _to_console)
    r.add_get("/console/", _to_console)
    r.add_get("/console/conversations", conversations_page)
    r.add_get("/console/conversations.csv", conversations_csv)
    r.add_get(r"/console/conversations/{seq:\d+}", conversation_page)
    r.add_get(r"/console/conversations/{seq:\d+}.csv", conversation_csv)
    r.add_post(r"/console/conversations/{seq:\d+}/tags", add_tag)
    r.add_post(r"/console/conversations/{seq:\d+}/tags/delete", remove_tag)
    r.add_post(r"/console/conversations/{seq:\d+}/notes", add_note)
    r.add_post(r"/console/conversations/{seq:\d+}/review", set_review)
    r.add_post(r"/console/messages/{tid:\d+}/correction", correct_message)
    r.add_post(r"/console/messages/{tid:\d+}/correction/delete", remove_correction)
    r.add_get("/console/corrections", corrections_page)
    r.add_get("/console/corrections.yml", corrections_yaml)
    r.add_get("/console/corrections.csv", corrections_csv)
    r.add_post("/console/corrections/mark-exported", corrections_mark_exported)
    r.add_get("/console/metrics", metrics_page)
    r.add_get(r"/console/metrics/{key:[a-z_]+}.csv", metrics_csv)
    r.add_get("/console/privacy", privacy_page)
    r.add_post("/console/privacy/search", privacy_search)
    r.add_post("/console/privacy/delete", privacy_delete)
    r.add_post("/console/privacy/retention", retention_now)
    r.add_get("/console/audit", audit_page)
    r.add_get("/console/audit.csv", audit_csv)


# ---- helpers ---------------------------------------------------------------------------


def _services(request: web.Request) -> ConsoleServices:
    return request.app[CONSOLE]


def _wants_unmask(request: web.Request) -> bool:
    return request.query.get("unmask") == "1" and current_user(request).can(UNMASK)


def _context(request: web.Request, active: str, **values: Any) -> dict[str, Any]:
    user = current_user(request)
    return {
        "user": user,
        "csrf_token": csrf_token(request),
        "active": active,
        "can_review": user.can(REVIEW),
        "can_export": user.can(EXPORT),
        "can_unmask": user.can(UNMASK),
        "can_metrics": user.can(Permission.VIEW_METRICS),
        "can_delete": user.can(Permission.DELETE_CITIZEN_DATA),
        "can_audit": user.can(Permission.VIEW_AUDIT_LOG),
        "local_time": local_time,
        "intent_label": intent_label,
        "role_labels": ROLE_LABELS,
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "entity_labels": ENTITY_LABELS,
        "error": None,
        "notice": None,
        **values,
    }


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _parse_date(raw: str | None) -> date | None:
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


def _parse_int(raw: str | None, low: int, high: int) -> int | None:
    try:
        value = int(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and low <= value <= high else None


def parse_filters(query: Mapping[str, str]) -> ConversationFilter:
    """Filters from the list page's query string; unusable values are ignored."""
    return ConversationFilter(
        date_from=_parse_date(query.get("from")),
        date_to=_parse_date(query.get("to")),
        channel=(query.get("channel") or "").strip()[:32] or None,
        intent=(query.get("intent") or "").strip()[:64] or None,
        confidence_below=_parse_float(query.get("conf_below"), 0.0, 1.0),
        fallback=_parse_flag(query.get("fallback")),
        handed_off=_parse_flag(query.get("handoff")),
        workorder=_parse_flag(query.get("workorder")),
        rating=_parse_int(query.get("rating"), 1, 5),
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


def _filter_query(query: Mapping[str, str], **extra: Any) -> str:
    params = {k: query[k] for k in _FILTER_PARAMS if query.get(k)}
    params.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)


def _search_refusal(request: web.Request, filters: ConversationFilter) -> str | None:
    if (
        filters.query
        and contains_personal_data(filters.query)
        and not current_user(request).can(UNMASK)
    ):
        return "按电话、证件号等个人信息搜索需要“查看个人信息”权限，请联系管理员。"
    return None


def _seq(request: web.Request) -> int:
    return int(request.match_info["seq"])


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS}


def _today() -> str:
    return china_day(datetime.now(UTC)).strftime("%Y%m%d")


async def _form(request: web.Request) -> dict[str, str]:
    """The text fields of a posted form (the first value of each)."""
    fields: dict[str, str] = {}
    for name, value in (await request.post()).items():
        if isinstance(value, str):
            fields.setdefault(name, value)
    return fields


# ---- pages -----------------------------------------------------------------------------


async def _to_console(request: web.Request) -> web.StreamResponse:
    return redirect("/console/conversations")


@require_permission(REVIEW)
async def conversations_page(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    filters = parse_filters(request.query)
    refusal = _search_refusal(request, filters)
    query: Mapping[str, str] = request.query
    if refusal:  # the refused search text is not echoed back into the page either
        filters = ConversationFilter(**{**filters.__dict__, "query": ""})
        query = {k: v for k, v in request.query.items() if k != "q"}
    before = _parse_int(request.query.get("before"), 1, 2**62)
    page = await list_conversations(services.engine, services.index.search, filters, before=before)
    await audit(
        request,
        "conversation.list",
        "conversations",
        {"filters": _masked_filters(filters), "before": before},
    )
    rows = [row.masked() for row in page.rows]
    return render(
        "console/conversations.html",
        _context(
            request,
            "conversations",
            rows=rows,
            filters=filters,
            query=query,
            next_link=(
                f"/console/conversations?{_filter_query(query, before=page.next_cursor)}"
                if page.next_cursor
                else None
            ),
            first_link=f"/console/conversations?{_filter_query(query)}" if before else None,
            export_link=f"/console/conversations.csv?{_filter_query(query)}",
            channels=await channels(services.engine),
            tags=await known_tags(services.engine),
            intents=services.review.vocabulary.intents,
            error=refusal,
        ),
    )


def _masked_filters(filters: ConversationFilter) -> dict[str, Any]:
    described = filters.describe()
    if "query" in described:
        described["query"] = mask_personal_data(str(described["query"]))
    return described


@require_permission(REVIEW, EXPORT)
async def conversations_csv(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    filters = parse_filters(request.query)
    refusal = _search_refusal(request, filters)
    if refusal:
        raise web.HTTPForbidden(text=refusal)
    unmask = _wants_unmask(request)
    await audit(
        request,
        "export.conversations_csv",
        "conversations",
        {"filters": _masked_filters(filters), "unmasked": unmask},
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            **_attachment(f"conversations-{_today()}.csv"),
        }
    )
    await response.prepare(request)
    async for chunk in conversation_csv_chunks(
        services.engine, services.index.search, filters, unmask=unmask
    ):
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


async def _detail_response(
    request: web.Request, seq: int, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    services = _services(request)
    detail = await conversation_detail(services.engine, seq)
    if detail is None:
        return render(
            "error.html", {"message": "会话不存在或已被删除。", "status": 404}, status=404
        )
    unmask = _wants_unmask(request)
    await audit(request, "conversation.view", str(seq), {"unmasked": unmask})
    if unmask:
        await audit(request, "personal_data.unmask", str(seq), {"view": "conversation"})
    shown = detail if unmask else detail.masked()
    vocabulary = services.review.vocabulary
    return render(
        "console/conversation.html",
        _context(
            request,
            "conversations",
            detail=shown,
            unmasked=unmask,
            intents=vocabulary.intents,
            entities=vocabulary.entities,
            entity_rows=ENTITY_ROWS,
            error=error,
        ),
        status=status,
    )


@require_permission(REVIEW)
async def conversation_page(request: web.Request) -> web.StreamResponse:
    return await _detail_response(request, _seq(request))


@require_permission(REVIEW, EXPORT)
async def conversation_csv(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    seq = _seq(request)
    detail = await conversation_detail(services.engine, seq)
    if detail is None:
        raise web.HTTPNotFound()
    unmask = _wants_unmask(request)
    shown = detail if unmask else detail.masked()
    await audit(request, "export.conversation_csv", str(seq), {"unmasked": unmask})
    body = csv_text(
        ("消息编号", "时间", "角色", "内容", "意图", "置信度", "实体", "动作", "状态"),
        [
            (
                t.id,
                t.created_at,
                ROLE_LABELS.get(t.role, t.role),
                t.text,
                t.intent,
                "" if t.confidence is None else f"{t.confidence:.3f}",
                "；".join(f"{e.get('entity')}={e.get('value')}" for e in t.entities),
                " ".join(t.actions),
                STATUS_LABELS.get(t.status or "", t.status),
            )
            for t in shown.turns
        ],
    )
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers=_attachment(f"conversation-{seq}.csv"),
    )


def _back(seq: int, anchor: str = "") -> web.Response:
    return redirect(f"/console/conversations/{seq}{anchor}")


@require_permission(REVIEW)
async def add_tag(request: web.Request) -> web.StreamResponse:
    seq = _seq(request)
    form = await _form(request)
    try:
        tag = await _services(request).review.add_tag(
            seq, form.get("tag", ""), current_user(request).username
        )
    except ReviewError as exc:
        return await _detail_response(request, seq, error=str(exc), status=400)
    await audit(request, "review.tag", str(seq), {"tag": tag})
    return _back(seq)


@require_permission(REVIEW)
async def remove_tag(request: web.Request) -> web.StreamResponse:
    seq = _seq(request)
    form = await _form(request)
    await _services(request).review.remove_tag(seq, form.get("tag", ""))
    await audit(request, "review.untag", str(seq), {"tag": form.get("tag", "")})
    return _back(seq)


@require_permission(REVIEW)
async def add_note(request: web.Request) -> web.StreamResponse:
    seq = _seq(request)
    form = await _form(request)
    try:
        await _services(request).review.add_note(
            seq, form.get("body", ""), current_user(request).username
        )
    except ReviewError as exc:
        return await _detail_response(request, seq, error=str(exc), status=400)
    await audit(request, "review.note", str(seq))
    return _back(seq, "#notes")


@require_permission(REVIEW)
async def set_review(request: web.Request) -> web.StreamResponse:
    seq = _seq(request)
    form = await _form(request)
    review = _services(request).review
    try:
        if "reviewed" in form:
            reviewed = form["reviewed"] == "1"
            await review.set_reviewed(seq, reviewed, current_user(request).username)
            await audit(request, "review.reviewed", str(seq), {"reviewed": reviewed})
        if "flagged" in form:
            flagged = form["flagged"] == "1"
            await review.set_flagged(seq, flagged)
            await audit(request, "review.flag", str(seq), {"flagged": flagged})
    except ReviewError as exc:
        return await _detail_response(request, seq, error=str(exc), status=400)
    return _back(seq)


@require_permission(REVIEW)
async def correct_message(request: web.Request) -> web.StreamResponse:
    transcript_id = int(request.match_info["tid"])
    form = await _form(request)
    entities = [
        EntityInput(
            entity=form.get(f"entity_{i}", "").strip(),
            text=form.get(f"entity_text_{i}", ""),
            value=form.get(f"entity_value_{i}", "") or None,
        )
        for i in range(ENTITY_ROWS)
        if form.get(f"entity_{i}", "").strip() and form.get(f"entity_text_{i}", "").strip()
    ]
    seq = _parse_int(form.get("seq"), 1, 2**62) or 0
    try:
        seq = await _services(request).review.correct(
            transcript_id, form.get("intent", "").strip(), entities, current_user(request).username
        )
    except ReviewError as exc:
        if seq:
            return await _detail_response(request, seq, error=str(exc), status=400)
        raise web.HTTPBadRequest(text=str(exc)) from None
    await audit(
        request,
        "review.correct",
        str(transcript_id),
        {"intent": form.get("intent", ""), "entities": [e.entity for e in entities]},
    )
    return _back(seq, f"#turn-{transcript_id}")


@require_permission(REVIEW)
async def remove_correction(request: web.Request) -> web.StreamResponse:
    transcript_id = int(request.match_info["tid"])
    form = await _form(request)
    await _services(request).review.remove_correction(transcript_id)
    await audit(request, "review.uncorrect", str(transcript_id))
    seq = _parse_int(form.get("seq"), 1, 2**62)
    return _back(seq, f"#turn-{transcript_id}") if seq else redirect("/console/corrections")


@require_permission(REVIEW)
async def corrections_page(request: web.Request) -> web.StreamResponse:
    corrections = await load_corrections(_services(request).engine)
    await audit(request, "corrections.list", "nlu_correction")
    return render(
        "console/corrections.html",
        _context(
            request,
            "corrections",
            corrections=[c.masked() for c in reversed(corrections)],
            pending=sum(1 for c in corrections if c.exported_at is None),
        ),
    )


@require_permission(REVIEW, EXPORT)
async def corrections_yaml(request: web.Request) -> web.StreamResponse:
    only_new = request.query.get("only_new") == "1"
    corrections = await load_corrections(_services(request).engine, only_new=only_new)
    await audit(
        request,
        "export.nlu_yaml",
        "nlu_correction",
        {"count": len(corrections), "only_new": only_new},
    )
    return web.Response(
        text=to_yaml(corrections),
        content_type="application/yaml",
        charset="utf-8",
        headers=_attachment(f"nlu_corrections_{_today()}.yml"),
    )


@require_permission(REVIEW, EXPORT)
async def corrections_csv(request: web.Request) -> web.StreamResponse:
    unmask = _wants_unmask(request)
    corrections = await load_corrections(_services(request).engine)
    shown = corrections if unmask else [c.masked() for c in corrections]
    await audit(
        request,
        "export.corrections_csv",
        "nlu_correction",
        {"count": len(shown), "unmasked": unmask},
    )
    body = csv_text(
        (
            "消息编号",
            "会话序号",
            "消息",
            "原识别意图",
            "原置信度",
            "修正意图",
            "实体",
            "修正人",
            "修正时间",
            "已导出",
        ),
        [
            (
                c.transcript_id,
                c.seq,
                c.text,
                c.predicted_intent,
                "" if c.predicted_confidence is None else f"{c.predicted_confidence:.3f}",
                c.intent,
                "；".join(f"{e.get('entity')}={e.get('text')}" for e in c.entities),
                c.corrected_by,
                c.corrected_at,
                c.exported_at is not None,
            )
            for c in shown
        ],
    )
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers=_attachment(f"nlu_corrections_{_today()}.csv"),
    )


@require_permission(REVIEW, EXPORT)
async def corrections_mark_exported(request: web.Request) -> web.StreamResponse:
    engine = _services(request).engine
    pending = await load_corrections(engine, only_new=True)
    await mark_exported(engine, [c.id for c in pending])
    await audit(request, "corrections.mark_exported", "nlu_correction", {"count": len(pending)})
    return redirect("/console/corrections")


def _period(request: web.Request) -> tuple[date, date]:
    start, end = default_period()
    start = _parse_date(request.query.get("from")) or start
    end = _parse_date(request.query.get("to")) or end
    return (start, end) if start <= end else (end, start)


async def _dashboard(request: web.Request) -> Dashboard:
    services = _services(request)
    start, end = _period(request)
    source = services.workorders
    return await dashboard(services.engine, start, end, await source.engine(), source.card_of)


@require_permission(Permission.VIEW_METRICS)
async def metrics_page(request: web.Request) -> web.StreamResponse:
    board = await _dashboard(request)
    unmask = _wants_unmask(request)
    await audit(
        request,
        "metrics.view",
        "metrics",
        {"from": board.date_from.isoformat(), "to": board.date_to.isoformat(), "unmasked": unmask},
    )
    unanswered = [(t if unmask else mask_personal_data(t), n) for t, n in board.unanswered]
    wo = board.workorders
    period = urlencode({"from": board.date_from.isoformat(), "to": board.date_to.isoformat()})
    return render(
        "console/metrics.html",
        _context(
            request,
            "metrics",
            board=board,
            period=period,
            unanswered=unanswered,
            per_day_chart=charts.column_chart([(d, n, h) for d, n, h, _ in board.per_day]),
            intents_chart=charts.bar_chart(
                [(intent_label(i), float(n)) for i, n in board.top_intents]
            ),
            ratings_chart=charts.bar_chart([(f"{r} 分", float(n)) for r, n in board.ratings]),
            wo_type_chart=charts.bar_chart([(k, float(v)) for k, v in wo.by_type]) if wo else None,
            wo_department_chart=charts.bar_chart([(k, float(v)) for k, v in wo.by_department])
            if wo
            else None,
            wo_status_chart=charts.bar_chart([(k, float(v)) for k, v in wo.by_status])
            if wo
            else None,
            wo_satisfaction_chart=charts.bar_chart([(k, float(v)) for k, v in wo.satisfaction])
            if wo
            else None,
            unmasked=unmask,
        ),
    )


@require_permission(Permission.VIEW_METRICS, EXPORT)
async def metrics_csv(request: web.Request) -> web.StreamResponse:
    board = await _dashboard(request)
    key = request.match_info["key"]
    table = next((t for t in board.tables() if t.key == key), None)
    if table is None:
        raise web.HTTPNotFound()
    unmask = _wants_unmask(request)
    rows = table.rows
    if key == "unanswered" and not unmask:
        rows = [(mask_personal_data(str(text)), n) for text, n in rows]
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
        headers=_attachment(f"metrics-{key}-{board.date_from:%Y%m%d}-{board.date_to:%Y%m%d}.csv"),
    )


def _privacy_context(request: web.Request, **values: Any) -> dict[str, Any]:
    settings = request.app[keys.SETTINGS]
    return _context(
        request,
        "privacy",
        retention_days=settings.retention_days,
        retention_mode=settings.retention_mode,
        retention_interval=settings.retention_interval_minutes,
        **{"matches": None, "masked_identifier": "", **values},
    )


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def privacy_page(request: web.Request) -> web.StreamResponse:
    return render("console/privacy.html", _privacy_context(request))


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def privacy_search(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    identifier = form.get("identifier", "").strip()[:128]
    matches = await _services(request).retention.find_citizen(identifier) if identifier else []
    await audit(
        request,
        "citizen.search",
        mask_personal_data(identifier),
        {"matches": len(matches)},
    )
    return render(
        "console/privacy.html",
        _privacy_context(
            request,
            matches=matches,
            masked_identifier=mask_personal_data(identifier),
        ),
    )


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def privacy_delete(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    seqs = sorted({int(v) for v in data.getall("seq", []) if isinstance(v, str) and v.isdigit()})
    if data.get("confirm") != "yes" or not seqs:
        return render(
            "console/privacy.html",
            _privacy_context(request, error="请勾选要删除的会话并确认删除。"),
            status=400,
        )
    deleted = await _services(request).retention.delete_conversations(seqs)
    await audit(request, "citizen.delete", f"{len(deleted)} conversations", {"seqs": seqs})
    return render(
        "console/privacy.html",
        _privacy_context(request, notice=f"已删除 {len(deleted)} 个会话及其全部记录。"),
    )


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def retention_now(request: web.Request) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS]
    if settings.retention_days <= 0:
        return render(
            "console/privacy.html",
            _privacy_context(request, error="未启用数据保留期限（RETENTION_DAYS 为 0）。"),
            status=400,
        )
    result = await _services(request).retention.run(
        settings.retention_days, settings.retention_mode
    )
    await audit(
        request,
        "retention.run",
        result.mode,
        {"conversations": result.conversations, "cutoff": result.cutoff.isoformat()},
    )
    action = "匿名化" if result.mode == "anonymise" else "删除"
    return render(
        "console/privacy.html",
        _privacy_context(request, notice=f"已{action} {result.conversations} 个过期会话。"),
    )


@require_permission(Permission.VIEW_AUDIT_LOG)
async def audit_page(request: web.Request) -> web.StreamResponse:
    before = _parse_int(request.query.get("before"), 1, 2**62)
    action = (request.query.get("action") or "").strip()[:64] or None
    username = (request.query.get("username") or "").strip()[:64] or None
    entries = await request.app[ACCOUNTS].audit.entries(
        before_id=before, limit=101, action=action, username=username
    )
    shown = entries[:100]
    next_link = None
    if len(entries) > 100:
        params = {"before": shown[-1].id, "action": action or "", "username": username or ""}
        next_link = "/console/audit?" + urlencode({k: v for k, v in params.items() if v})
    return render(
        "console/audit.html",
        _context(
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
    log = request.app[ACCOUNTS].audit
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
        headers=_attachment(f"audit_log_{_today()}.csv"),
    )
