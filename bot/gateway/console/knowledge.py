"""The knowledge console (``/console/knowledge``): list, search, edit, review, publish.

Editors draft and submit; a reviewer who wrote none of the pending versions publishes,
rejects or withdraws. A record is addressed by ``?id=`` because ids hold ``:`` and ``/``
(``std:GB/T 33358-2016``). Every step is audited; a refused step is shown on the record's
page in plain Chinese with a 4xx status, never as an error page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.accounts import Permission
from bot.gateway import keys
from bot.gateway.auth import audit, current_user, redirect, require_permission, require_role
from bot.gateway.console.common import context, form_fields
from bot.gateway.console.knowledge_services import (
    EDIT,
    REVIEW,
    go_live,
    knowledge_console,
    today,
)
from bot.gateway.console.query import parse_int
from bot.gateway.pages import render
from bot.knowledge.ccs import ccs_label
from bot.knowledge.editing.diff import changes
from bot.knowledge.editing.forms import (
    LONG_FIELDS,
    PROVENANCE_FIELDS,
    FormError,
    entry_from_form,
    fields_of,
    form_values,
)
from bot.knowledge.editing.service import PAGE_SIZE, SYSTEM_AUTHOR, RecordFilter
from bot.knowledge.editing.workflow import NotFound, State, WorkflowError
from bot.knowledge.models import Kind

KIND_LABELS = {Kind.STANDARD.value: "标准", Kind.KNOWLEDGE.value: "知识点"}
NOTICES = {
    "created": "已保存为草稿。确认无误后请提交审核。",
    "saved": "已保存新版本（草稿）。",
    "submit": "已提交审核，等待另一位审核人审核。",
    "publish": "已发布，新内容几秒内即可被智能助手和坐席检索到。",
    "reject": "已退回修改。",
    "withdraw": "已撤回，智能助手不再使用这条记录。",
    "restore": "已恢复为所选版本的内容（新的草稿）。",
    "import": "导入的记录已发布；新内容正在生成检索向量，几分钟内即可被检索到。",
}
_STEPS = {"submit": EDIT, "publish": REVIEW, "reject": REVIEW, "withdraw": REVIEW, "restore": EDIT}


@require_role()
async def console_home(request: web.Request) -> web.StreamResponse:
    """``/console/``: conversations for supervisors, the knowledge base for its editors."""
    user = current_user(request)
    if not user.can(Permission.REVIEW_CONVERSATIONS) and user.can(EDIT):
        return redirect("/console/knowledge")
    return redirect("/console/conversations")


@require_permission(EDIT)
async def knowledge_page(request: web.Request) -> web.StreamResponse:
    console = knowledge_console(request)
    filters = _filters(request.query)
    offset = parse_int(request.query.get("offset"), 0, 10**7) or 0
    day = today()

    def load() -> dict[str, Any]:
        console.editor.adopt(day)
        rows, total = console.editor.records(filters, day, offset)
        return {
            "rows": rows,
            "total": total,
            "reminders": {**console.editor.reminders(day), "flags": console.flags.count_open()},
            "facets": console.editor.facets(),
        }

    data = await asyncio.to_thread(load)
    query = {k: v for k, v in request.query.items() if k != "offset" and v}
    pages = {
        "prev": _link(query, offset - PAGE_SIZE) if offset > 0 else None,
        "next": _link(query, offset + PAGE_SIZE) if offset + PAGE_SIZE < data["total"] else None,
    }
    return render(
        "console/knowledge.html",
        context(
            request,
            "knowledge",
            **data,
            **_labels(),
            filters=filters,
            pages=pages,
            today=day,
            notice=NOTICES.get(request.query.get("done", "")),
        ),
    )


@require_permission(EDIT)
async def new_record_page(request: web.Request) -> web.StreamResponse:
    kind = request.query.get("kind", Kind.KNOWLEDGE.value)
    if kind not in KIND_LABELS:
        kind = Kind.KNOWLEDGE.value
    return _edit_form(request, kind, {}, record=None)


@require_permission(EDIT)
async def create_record(request: web.Request) -> web.StreamResponse:
    form = await form_fields(request)
    kind = form.get("kind", "")
    console = knowledge_console(request)
    user = current_user(request)
    try:
        entry = entry_from_form(kind, form)
        await asyncio.to_thread(
            console.editor.save, entry, user.username, form.get("note", ""), creating=True
        )
    except (FormError, WorkflowError) as exc:
        return _edit_form(request, kind or Kind.KNOWLEDGE.value, form, None, str(exc), 422)
    await audit(request, "knowledge.create", entry.id)
    return redirect(_record_url(entry.id, "created"))


@require_permission(EDIT)
async def record_page(request: web.Request) -> web.StreamResponse:
    return await _record_view(request, request.query.get("id", ""))


@require_permission(EDIT)
async def edit_record(request: web.Request) -> web.StreamResponse:
    form = await form_fields(request)
    record_id = form.get("record_id", "")
    console = knowledge_console(request)
    try:
        record = await asyncio.to_thread(console.editor.record, record_id)
        entry = entry_from_form(record.kind, {**form, "id": record_id})
        if entry.id != record_id:
            raise FormError("标准号决定记录编号，不能在这里修改；如需新的标准号，请新建一条记录。")
        await asyncio.to_thread(
            console.editor.save,
            entry,
            current_user(request).username,
            form.get("note", ""),
            creating=False,
        )
    except NotFound:
        return _not_found(request)
    except (FormError, WorkflowError) as exc:
        return await _record_view(request, record_id, error=str(exc), status=422, form=form)
    await audit(request, "knowledge.edit", record_id)
    return redirect(_record_url(record_id, "saved"))


@require_permission(EDIT)
async def record_step(request: web.Request) -> web.StreamResponse:
    """submit / publish / reject / withdraw / restore, each checked by the workflow."""
    step = request.match_info["step"]
    form = await form_fields(request)
    record_id = form.get("record_id", "")
    user = current_user(request)
    if not user.can(_STEPS[step]):
        return await _record_view(request, record_id, error="您没有审核权限。", status=403)
    editor = knowledge_console(request).editor
    note = form.get("note", "").strip()[:500]
    try:
        if step == "submit":
            await asyncio.to_thread(editor.submit, record_id, user.username)
        elif step == "publish":
            kb = await request.app[keys.KNOWLEDGE].get()
            await asyncio.to_thread(editor.publish, record_id, user.username, today(), kb.embedder)
        elif step == "reject":
            await asyncio.to_thread(editor.reject, record_id, user.username, note)
        elif step == "withdraw":
            await asyncio.to_thread(editor.withdraw, record_id, user.username, note)
        else:
            version = parse_int(form.get("version"), 1, 10**6)
            if version is None:
                raise WorkflowError("请选择要恢复的版本。")
            await asyncio.to_thread(editor.restore, record_id, version, user.username)
    except NotFound:
        return _not_found(request)
    except WorkflowError as exc:
        return await _record_view(request, record_id, error=str(exc), status=409)
    await audit(request, f"knowledge.{step}", record_id, {"note": note} if note else None)
    if step in ("publish", "withdraw"):
        await go_live(request.app)
    return redirect(_record_url(record_id, step))


# -- rendering ---------------------------------------------------------------------------


async def _record_view(
    request: web.Request,
    record_id: str,
    *,
    error: str | None = None,
    status: int = 200,
    form: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    console = knowledge_console(request)

    def load() -> dict[str, Any]:
        versions = console.editor.versions(record_id)
        history = [
            (v, changes(versions[i + 1].entry if i + 1 < len(versions) else None, v.entry))
            for i, v in enumerate(versions)
        ]
        return {
            "record": console.editor.record(record_id),
            "history": history,
            "events": console.editor.events(record_id),
            "flags": console.flags.open_flags(record_id),
            "values": dict(form) if form else form_values(versions[0].entry),
        }

    try:
        data = await asyncio.to_thread(load)
    except NotFound:
        return _not_found(request)
    notice = NOTICES.get(request.query.get("done", ""))
    record = data["record"]
    return render(
        "console/knowledge_record.html",
        context(
            request,
            "knowledge",
            **data,
            **_labels(),
            fields=fields_of(record.kind),
            can_publish=current_user(request).can(REVIEW),
            error=error,
            notice=notice,
        ),
        status=status,
    )


def _edit_form(
    request: web.Request,
    kind: str,
    values: Mapping[str, str],
    record: Any,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        "console/knowledge_new.html",
        context(
            request,
            "knowledge",
            **_labels(),
            kind=kind,
            fields=fields_of(kind),
            values=dict(values),
            record=record,
            error=error,
        ),
        status=status,
    )


def _labels() -> dict[str, Any]:
    return {
        "who": _who,
        "ccs_label": ccs_label,
        "kind_labels": KIND_LABELS,
        "states": list(State),
        "long_fields": LONG_FIELDS,
        "provenance_fields": PROVENANCE_FIELDS,
    }


def _who(username: str) -> str:
    return "系统导入" if username == SYSTEM_AUTHOR else username


def _not_found(request: web.Request) -> web.Response:
    return render(
        "console/knowledge_missing.html",
        context(request, "knowledge", error="没有找到这条知识库记录，它可能已被删除或编号有误。"),
        status=404,
    )


def _filters(query: Mapping[str, str]) -> RecordFilter:
    state = query.get("state", "")
    kind = query.get("kind", "")
    return RecordFilter(
        query=query.get("q", "").strip()[:100],
        kind=kind if kind in KIND_LABELS else "",
        category=query.get("category", "").strip()[:200],
        department=query.get("department", "").strip()[:200],
        state=state if state in {s.value for s in State} else "",
        due=query.get("due") == "1",
        unverified=query.get("unverified") == "1",
    )


def _link(query: Mapping[str, str], offset: int) -> str:
    return "/console/knowledge?" + urlencode({**query, "offset": max(offset, 0)})


def _record_url(record_id: str, done: str) -> str:
    return "/console/knowledge/record?" + urlencode({"id": record_id, "done": done})
