"""Flags from the front line: the citizens' and agents' one-click "wrong / outdated".

Citizens post without a login (the chat page's answers carry the entry they rest on);
agents post from the workspace with their session. Reviewers see each flag with the
question and the answer as they were, and mark it handled once the record is fixed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.gateway.auth import audit, current_user, redirect, require_permission
from bot.gateway.clients import client_address
from bot.gateway.console.common import context
from bot.gateway.console.knowledge_services import EDIT, REVIEW, knowledge_console
from bot.gateway.console.query import parse_int
from bot.gateway.handoff.common import guard
from bot.gateway.pages import render
from bot.gateway.responses import ApiError, json_ok, read_object
from bot.knowledge.editing.flags import MAX_COMMENT, MAX_TEXT, Reason

_FIELDS = frozenset({"reason", "question", "answer", "comment", "entry_id", "conversation_id"})


async def citizen_flag(request: web.Request) -> web.StreamResponse:
    """``POST /api/v1/knowledge/flags``: a citizen says an answer is wrong or outdated.

    No login, so each client address may flag ``KNOWLEDGE_FLAGS_PER_ADDRESS`` times an hour:
    enough for anyone reading answers, too few to flood the reviewers' queue.
    """
    limiter = knowledge_console(request).flag_limiter
    if not await limiter.allow(f"kb-flag:{client_address(request)}"):
        raise ApiError(
            429, "您提交的反馈较多，请稍后再试。感谢您帮助我们改进答案。", "rate_limited"
        )
    return await _flag(request, "citizen")


@guard
async def agent_flag(request: web.Request) -> web.StreamResponse:
    return await _flag(request, f"agent:{current_user(request).username}")


@require_permission(EDIT)
async def flags_page(request: web.Request) -> web.StreamResponse:
    notice = "已标记为处理完毕。" if request.query.get("done") else None
    return await _render_flags(request, notice=notice)


async def _render_flags(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    flags = await asyncio.to_thread(knowledge_console(request).flags.open_flags)
    return render(
        "console/knowledge_flags.html",
        context(
            request,
            "knowledge",
            flags=flags,
            can_resolve=current_user(request).can(REVIEW),
            **extra,
        ),
        status=status,
    )


@require_permission(REVIEW)
async def resolve_flag(request: web.Request) -> web.StreamResponse:
    flag_id = parse_int(request.match_info["flag_id"], 1, 2**62)
    box = knowledge_console(request).flags
    user = current_user(request).username
    if flag_id is None or not await asyncio.to_thread(box.resolve, flag_id, user):
        return await _render_flags(request, 404, error="这条反馈不存在或已处理。")
    await audit(request, "knowledge.flag_resolved", str(flag_id))
    return redirect("/console/knowledge/flags?done=1")


async def _flag(request: web.Request, reporter: str) -> web.StreamResponse:
    body = await read_object(request)
    values = _parse(body)
    flag_id = await asyncio.to_thread(
        knowledge_console(request).flags.add, reporter=reporter, **values
    )
    return json_ok({"id": flag_id, "message": "感谢反馈，知识库审核人员会尽快核实。"}, 201)


def _parse(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise ApiError(400, f"不支持的字段：{'、'.join(unknown)}。", "invalid_request")
    try:
        reason = Reason(body.get("reason", ""))
    except ValueError:
        raise ApiError(
            400, "reason 只能是 wrong（答案有误）或 outdated（信息过时）。", "invalid_request"
        ) from None
    values: dict[str, Any] = {"reason": reason}
    for name, limit, required in (
        ("question", MAX_TEXT, True),
        ("answer", MAX_TEXT, True),
        ("comment", MAX_COMMENT, False),
        ("entry_id", 255, False),
        ("conversation_id", 128, False),
    ):
        value = body.get(name, "")
        if not isinstance(value, str) or len(value) > limit:
            raise ApiError(400, f"{name} 应为不超过 {limit} 字的文字。", "invalid_request")
        if required and not value.strip():
            raise ApiError(
                400, f"{name} 不能为空：请附上所问的问题和得到的回答。", "invalid_request"
            )
        values["record_id" if name == "entry_id" else name] = value.strip() or None
    values["comment"] = values["comment"] or ""
    return values
