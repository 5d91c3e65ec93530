"""Conversation review: the list with its filters, one conversation, tags, notes, flags.

Views, exports and changes are written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.console.export import conversation_csv_chunks, csv_text
from bot.console.labels import (
    ROLE_LABELS,
    STATUS_LABELS,
    actions_text,
    entities_text,
    intent_label,
)
from bot.console.queries import (
    ConversationFilter,
    channels,
    conversation_detail,
    known_tags,
    list_conversations,
)
from bot.console.review import ReviewError
from bot.gateway.auth import audit, current_user, redirect, require_permission
from bot.gateway.console.common import (
    EXPORT,
    REVIEW,
    attachment,
    console_services,
    context,
    form_fields,
    search_refusal,
    seq_of,
    today,
    wants_unmask,
)
from bot.gateway.console.query import filter_query, parse_filters, parse_int
from bot.gateway.console.routing import explanations
from bot.gateway.pages import render
from bot.privacy import mask_personal_data
from bot.routing import REQUEST_TYPES
from bot.routing.feedback import corrections_of

ENTITY_ROWS = 3


@require_permission(REVIEW)
async def conversations_page(request: web.Request) -> web.StreamResponse:
    services = console_services(request)
    filters = parse_filters(request.query)
    refusal = search_refusal(request, filters)
    query: Mapping[str, str] = request.query
    if refusal:  # the refused search text is not echoed back into the page either
        filters = ConversationFilter(**{**filters.__dict__, "query": ""})
        query = {k: v for k, v in request.query.items() if k != "q"}
    before = parse_int(request.query.get("before"), 1, 2**62)
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
        context(
            request,
            "conversations",
            rows=rows,
            filters=filters,
            query=query,
            next_link=(
                f"/console/conversations?{filter_query(query, before=page.next_cursor)}"
                if page.next_cursor
                else None
            ),
            first_link=f"/console/conversations?{filter_query(query)}" if before else None,
            export_link=f"/console/conversations.csv?{filter_query(query)}",
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
    services = console_services(request)
    filters = parse_filters(request.query)
    refusal = search_refusal(request, filters)
    if refusal:
        raise web.HTTPForbidden(text=refusal)
    unmask = wants_unmask(request)
    await audit(
        request,
        "export.conversations_csv",
        "conversations",
        {"filters": _masked_filters(filters), "unmasked": unmask},
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            **attachment(f"conversations-{today()}.csv"),
        }
    )
    await response.prepare(request)
    async for chunk in conversation_csv_chunks(
        services.engine, services.index.search, filters, unmask=unmask
    ):
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


async def detail_response(
    request: web.Request, seq: int, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    services = console_services(request)
    detail = await conversation_detail(services.engine, seq)
    if detail is None:
        return render(
            "error.html", {"message": "会话不存在或已被删除。", "status": 404}, status=404
        )
    unmask = wants_unmask(request)
    await audit(request, "conversation.view", str(seq), {"unmasked": unmask})
    if unmask:
        await audit(request, "personal_data.unmask", str(seq), {"view": "conversation"})
    shown = detail if unmask else detail.masked()
    vocabulary = services.review.vocabulary
    explained, explain_note = await explanations(services, detail)
    return render(
        "console/conversation.html",
        context(
            request,
            "conversations",
            detail=shown,
            unmasked=unmask,
            intents=vocabulary.intents,
            entities=vocabulary.entities,
            entity_rows=ENTITY_ROWS,
            explained=explained,
            explain_note=explain_note,
            routing_corrections=await corrections_of(services.engine, [t.id for t in detail.turns]),
            request_types=REQUEST_TYPES,
            units=[(d.id, d.name) for d in services.catalogue.departments],
            unit_names={d.id: d.short_name for d in services.catalogue.departments},
            saved_turn=parse_int(request.query.get("saved"), 1, 2**62),
            error=error,
        ),
        status=status,
    )


@require_permission(REVIEW)
async def conversation_page(request: web.Request) -> web.StreamResponse:
    return await detail_response(request, seq_of(request))


@require_permission(REVIEW, EXPORT)
async def conversation_csv(request: web.Request) -> web.StreamResponse:
    services = console_services(request)
    seq = seq_of(request)
    detail = await conversation_detail(services.engine, seq)
    if detail is None:
        raise web.HTTPNotFound()
    unmask = wants_unmask(request)
    shown = detail if unmask else detail.masked()
    await audit(request, "export.conversation_csv", str(seq), {"unmasked": unmask})
    body = csv_text(
        ("消息编号", "时间", "角色", "内容", "意图", "置信度", "实体", "答复方式", "状态"),
        [
            (
                t.id,
                t.created_at,
                ROLE_LABELS.get(t.role, t.role),
                t.shown_text,
                intent_label(t.intent) if t.intent else "",
                "" if t.confidence is None else f"{t.confidence:.3f}",
                entities_text(t.entities),
                actions_text(t.actions),
                STATUS_LABELS.get(t.status or "", t.status),
            )
            for t in shown.turns
        ],
    )
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers=attachment(f"conversation-{seq}.csv"),
    )


def back_to(seq: int, anchor: str = "", *, saved: int | None = None) -> web.Response:
    """Back to the conversation; ``saved``: the message whose correction was just saved,
    confirmed beside it (the anchor scrolls there, past a notice at the top)."""
    query = f"?saved={saved}" if saved else ""
    return redirect(f"/console/conversations/{seq}{query}{anchor}")


@require_permission(REVIEW)
async def add_tag(request: web.Request) -> web.StreamResponse:
    seq = seq_of(request)
    form = await form_fields(request)
    try:
        tag = await console_services(request).review.add_tag(
            seq, form.get("tag", ""), current_user(request).username
        )
    except ReviewError as exc:
        return await detail_response(request, seq, error=str(exc), status=400)
    await audit(request, "review.tag", str(seq), {"tag": tag})
    return back_to(seq)


@require_permission(REVIEW)
async def remove_tag(request: web.Request) -> web.StreamResponse:
    seq = seq_of(request)
    form = await form_fields(request)
    await console_services(request).review.remove_tag(seq, form.get("tag", ""))
    await audit(request, "review.untag", str(seq), {"tag": form.get("tag", "")})
    return back_to(seq)


@require_permission(REVIEW)
async def add_note(request: web.Request) -> web.StreamResponse:
    seq = seq_of(request)
    form = await form_fields(request)
    try:
        await console_services(request).review.add_note(
            seq, form.get("body", ""), current_user(request).username
        )
    except ReviewError as exc:
        return await detail_response(request, seq, error=str(exc), status=400)
    await audit(request, "review.note", str(seq))
    return back_to(seq, "#notes")


@require_permission(REVIEW)
async def set_review(request: web.Request) -> web.StreamResponse:
    seq = seq_of(request)
    form = await form_fields(request)
    review = console_services(request).review
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
        return await detail_response(request, seq, error=str(exc), status=400)
    return back_to(seq)
