"""Corrections: a supervisor fixes what the assistant understood (intent and entities,
exported as Rasa training data or CSV) and how it would route a message (request type and
handling unit, which ``routing export-training`` turns into training rows)."""

from __future__ import annotations

from aiohttp import web

from bot.console.export import csv_text
from bot.console.labels import entities_text, intent_label
from bot.console.nlu_export import load_corrections, mark_exported, to_yaml
from bot.console.review import EntityInput, ReviewError
from bot.gateway.auth import audit, current_user, redirect, require_permission
from bot.gateway.console.common import (
    EXPORT,
    REVIEW,
    attachment,
    console_services,
    context,
    form_fields,
    today,
    wants_unmask,
)
from bot.gateway.console.conversations import ENTITY_ROWS, back_to, detail_response
from bot.gateway.console.query import parse_int
from bot.gateway.pages import render
from bot.routing import REQUEST_TYPES


@require_permission(REVIEW)
async def correct_message(request: web.Request) -> web.StreamResponse:
    transcript_id = int(request.match_info["tid"])
    form = await form_fields(request)
    entities = [
        EntityInput(
            entity=form.get(f"entity_{i}", "").strip(),
            text=form.get(f"entity_text_{i}", ""),
            value=form.get(f"entity_value_{i}", "") or None,
        )
        for i in range(ENTITY_ROWS)
        if form.get(f"entity_{i}", "").strip() and form.get(f"entity_text_{i}", "").strip()
    ]
    seq = parse_int(form.get("seq"), 1, 2**62) or 0
    try:
        seq = await console_services(request).review.correct(
            transcript_id, form.get("intent", "").strip(), entities, current_user(request).username
        )
    except ReviewError as exc:
        return await _refused(request, seq, exc)
    await audit(
        request,
        "review.correct",
        str(transcript_id),
        {"intent": form.get("intent", ""), "entities": [e.entity for e in entities]},
    )
    return back_to(seq, f"#turn-{transcript_id}", saved=transcript_id)


async def _refused(request: web.Request, seq: int, exc: ReviewError) -> web.StreamResponse:
    """A refused correction is shown on the conversation it was made in, with the reason."""
    if seq:
        return await detail_response(request, seq, error=str(exc), status=400)
    raise web.HTTPBadRequest(text=str(exc)) from None


@require_permission(REVIEW)
async def correct_routing(request: web.Request) -> web.StreamResponse:
    transcript_id = int(request.match_info["tid"])
    form = await form_fields(request)
    services = console_services(request)
    seq = parse_int(form.get("seq"), 1, 2**62) or 0
    kind = form.get("request_type", "").strip() or None
    unit = form.get("department", "").strip() or None
    error = None
    if kind is not None and kind not in REQUEST_TYPES:
        error = "请从列表中选择诉求类型。"
    elif unit is not None and unit not in {d.id for d in services.catalogue.departments}:
        error = "请从列表中选择派单目录中的承办单位。"
    elif kind is None and unit is None:
        error = "请至少选择正确的诉求类型或承办单位。"
    try:
        if error:
            raise ReviewError(error)
        seq = await services.review.correct_routing(
            transcript_id, kind, unit, current_user(request).username
        )
    except ReviewError as exc:
        return await _refused(request, seq, exc)
    await audit(
        request,
        "review.correct_routing",
        str(transcript_id),
        {"request_type": kind, "department": unit},
    )
    return back_to(seq, f"#turn-{transcript_id}", saved=transcript_id)


@require_permission(REVIEW)
async def remove_correction(request: web.Request) -> web.StreamResponse:
    transcript_id = int(request.match_info["tid"])
    form = await form_fields(request)
    await console_services(request).review.remove_correction(transcript_id)
    await audit(request, "review.uncorrect", str(transcript_id))
    seq = parse_int(form.get("seq"), 1, 2**62)
    return back_to(seq, f"#turn-{transcript_id}") if seq else redirect("/console/corrections")


@require_permission(REVIEW)
async def corrections_page(request: web.Request) -> web.StreamResponse:
    corrections = await load_corrections(console_services(request).engine)
    await audit(request, "corrections.list", "nlu_correction")
    return render(
        "console/corrections.html",
        context(
            request,
            "corrections",
            corrections=[c.masked() for c in reversed(corrections)],
            pending=sum(1 for c in corrections if c.exported_at is None),
        ),
    )


@require_permission(REVIEW, EXPORT)
async def corrections_yaml(request: web.Request) -> web.StreamResponse:
    only_new = request.query.get("only_new") == "1"
    corrections = await load_corrections(console_services(request).engine, only_new=only_new)
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
        headers=attachment(f"nlu_corrections_{today()}.yml"),
    )


@require_permission(REVIEW, EXPORT)
async def corrections_csv(request: web.Request) -> web.StreamResponse:
    unmask = wants_unmask(request)
    corrections = await load_corrections(console_services(request).engine)
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
                intent_label(c.predicted_intent),
                "" if c.predicted_confidence is None else f"{c.predicted_confidence:.3f}",
                intent_label(c.intent),
                entities_text(c.entities, "text"),
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
        headers=attachment(f"nlu_corrections_{today()}.csv"),
    )


@require_permission(REVIEW, EXPORT)
async def corrections_mark_exported(request: web.Request) -> web.StreamResponse:
    engine = console_services(request).engine
    pending = await load_corrections(engine, only_new=True)
    await mark_exported(engine, [c.id for c in pending])
    await audit(request, "corrections.mark_exported", "nlu_correction", {"count": len(pending)})
    return redirect("/console/corrections")
