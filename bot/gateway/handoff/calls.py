"""Phone calls in the agent workspace: typed by the agent, or streamed by a recogniser.

The agent's routes are guarded like the rest of the workspace. The ASR API is for a
speech recogniser, not a browser: it needs the bearer token ``ASR_API_TOKEN`` and is off
without one; partial results are only shown live, final ones go into the transcript
(and feed the suggestions).
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.accounts import Role
from bot.gateway import keys
from bot.gateway.auth import audit
from bot.gateway.handoff.common import actor, actor_of, guard, invalid, text_field, workspace
from bot.gateway.responses import ApiError, json_ok, read_object
from bot.handoff.calls import Call

_SPEAKERS = frozenset({"caller", "agent"})


# ---- typed by the agent -----------------------------------------------------------------


@guard
async def start_call(request: web.Request) -> web.StreamResponse:
    caller = (await read_object(request)).get("caller", "")
    if not isinstance(caller, str):
        raise invalid("来电号码格式不正确。")
    call = await workspace(request).service.calls.start(
        actor(request), None, caller.strip(), "manual"
    )
    await audit(request, "call.start", call.call_id)
    return json_ok({"call": call.to_json()})


@guard
async def call_segment(request: web.Request) -> web.StreamResponse:
    calls = workspace(request).service.calls
    body = await read_object(request)
    speaker = body.get("speaker", "caller")
    if speaker not in _SPEAKERS:
        raise invalid("说话人应为 caller 或 agent。")
    call = await calls.for_actor(request.match_info["call_id"], actor(request))
    row_id = await calls.segment(call, str(speaker), text_field(body, "text"), False)
    return json_ok({"row_id": row_id})


@guard
async def end_call(request: web.Request) -> web.StreamResponse:
    calls = workspace(request).service.calls
    call = await calls.for_actor(request.match_info["call_id"], actor(request))
    await calls.end(call)
    await audit(request, "call.end", call.call_id)
    return json_ok({"status": "ended"})


# ---- streamed by a speech recogniser ----------------------------------------------------


def _asr_authorise(request: web.Request) -> None:
    expected = request.app[keys.SETTINGS].asr_api_token
    if not expected:
        raise ApiError(404, "未启用语音转写接口（ASR_API_TOKEN 未设置）。", "asr_disabled")
    header = request.headers.get("Authorization", "")
    supplied = header[7:] if header.startswith("Bearer ") else ""
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise ApiError(401, "未授权，请提供有效的访问令牌。", "unauthorized")


async def _asr_call(request: web.Request) -> Call:
    call = await workspace(request).service.calls.store.get(request.match_info["call_id"])
    if call is None:
        raise ApiError(404, "没有找到这通电话。", "not_found")
    return call


async def asr_start_call(request: web.Request) -> web.StreamResponse:
    """``{"call_id", "agent": username, "caller"}``: the recogniser opens a call for an agent."""
    _asr_authorise(request)
    body = await read_object(request)
    call_id, username, caller = body.get("call_id"), body.get("agent"), body.get("caller", "")
    if not all(isinstance(v, str) for v in (call_id, username, caller)):
        raise invalid("需要 call_id、agent（坐席用户名）和 caller。")
    user = await request.app[keys.ACCOUNTS].users.get_by_username(str(username))
    if user is None or not user.active or user.role not in (Role.AGENT, Role.SUPERVISOR):
        raise ApiError(404, "没有找到这位坐席。", "unknown_agent")
    call = await workspace(request).service.calls.start(
        actor_of(user), str(call_id), str(caller).strip(), "asr"
    )
    return json_ok({"call": call.to_json()}, status=201)


async def asr_segment(request: web.Request) -> web.StreamResponse:
    """``{"speaker": "caller"|"agent", "text", "final": bool}``."""
    _asr_authorise(request)
    space = workspace(request)
    body = await read_object(request)
    speaker, text, final = body.get("speaker", "caller"), body.get("text"), body.get("final", True)
    if speaker not in _SPEAKERS or not isinstance(text, str) or not isinstance(final, bool):
        raise invalid("需要 speaker（caller 或 agent）、text 和 final。")
    call = await _asr_call(request)
    if not final:
        await space.bus.publish(
            {
                "kind": "console",
                "audience": f"agent:{call.agent_id}",
                "event": {
                    "type": "partial",
                    "conversation_id": call.conversation_id,
                    "speaker": speaker,
                    "text": text[:500],
                },
            }
        )
        return json_ok({"status": "partial"})
    row_id = await space.service.calls.segment(call, str(speaker), text, True)
    return json_ok({"row_id": row_id})


async def asr_end_call(request: web.Request) -> web.StreamResponse:
    _asr_authorise(request)
    await workspace(request).service.calls.end(await _asr_call(request))
    return json_ok({"status": "ended"})
