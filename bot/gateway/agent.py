"""The agent workspace (坐席工作台): the page, its JSON API, its live socket, and the ASR API.

Every route except the ASR API requires a logged-in agent or supervisor (``require_role``:
session cookie, CSRF token on every POST, same-origin check on the WebSocket upgrade),
and every conversation is checked against the user: an agent acts only on waiting
conversations and on those they hold (supervisors on any). The ASR API is for a speech
recogniser, not a browser: it needs the bearer token ``ASR_API_TOKEN`` and is off
without one. Everything a citizen wrote is sent as JSON and rendered by the page with
``textContent`` only; the page's CSP forbids inline scripts.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any

from aiohttp import WSMsgType, web

from bot.accounts import Role, User
from bot.gateway import keys
from bot.gateway.agent_live import AGENT, AgentWorkspace, close_live_sockets
from bot.gateway.auth import (
    ACCOUNTS,
    audit,
    cookie_name,
    csrf_token,
    current_user,
    require_role,
)
from bot.gateway.pages import SECURITY_HEADERS, render
from bot.gateway.responses import json_error, json_ok, read_json
from bot.gateway.wechat import openid_of
from bot.handoff.calls import CALL_CHANNEL, CALL_PREFIX, Call, CallError
from bot.handoff.service import Actor, HandoffRefused, row_json
from bot.handoff.states import InvalidTransition, State
from bot.handoff.store import utcnow
from bot.workorders.models import CitizenRequest
from connectors.workorders.errors import WorkOrderError

logger = logging.getLogger(__name__)

_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_HEARTBEAT_S = 20.0
_SPEAKERS = frozenset({"caller", "agent"})
DRAFT_FIELDS = ("content", "address", "name", "phone", "request_type", "department")

guard = require_role(Role.AGENT, Role.SUPERVISOR)


def setup_agent_routes(app: web.Application) -> None:
    app.on_shutdown.append(close_live_sockets)  # live sockets must not hold up a shutdown
    app.router.add_get("/agent/", page)
    app.router.add_get("/agent/ws", live)
    app.router.add_get("/api/v1/agent/state", state)
    app.router.add_post("/api/v1/agent/duty", duty)
    base = "/api/v1/agent/conversations/{conversation_id}"
    app.router.add_get(base, conversation)
    app.router.add_post(base + "/claim", claim)
    app.router.add_post(base + "/messages", send_message)
    app.router.add_post(base + "/transfer", transfer)
    app.router.add_post(base + "/handback", hand_back)
    app.router.add_post(base + "/close", close)
    app.router.add_post(base + "/assist", assist)
    app.router.add_post(base + "/workorder", submit_work_order)
    app.router.add_post("/api/v1/agent/notes/{note_id}/reply", reply_note)
    app.router.add_post("/api/v1/agent/calls", start_call)
    app.router.add_post("/api/v1/agent/calls/{call_id}/segments", call_segment)
    app.router.add_post("/api/v1/agent/calls/{call_id}/end", end_call)
    app.router.add_post("/api/v1/asr/calls", asr_start_call)
    app.router.add_post("/api/v1/asr/calls/{call_id}/segments", asr_segment)
    app.router.add_post("/api/v1/asr/calls/{call_id}/end", asr_end_call)


# ---- helpers ----------------------------------------------------------------------------


def _workspace(request: web.Request) -> AgentWorkspace:
    return request.app[AGENT]


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        supervisor=user.role in (Role.SUPERVISOR, Role.ADMIN),
    )


def _actor(request: web.Request) -> Actor:
    return actor_of(current_user(request))


def _conversation_id(request: web.Request) -> str:
    value = request.match_info["conversation_id"]
    if not _CONVERSATION_ID.match(value):
        raise web.HTTPNotFound()
    return value


def _refused(exc: Exception) -> web.Response:
    if isinstance(exc, InvalidTransition):
        return json_error(409, exc.message, "invalid_state")
    if isinstance(exc, HandoffRefused):
        return json_error(exc.status, exc.message, exc.code)
    if isinstance(exc, CallError):
        return json_error(400, str(exc), "invalid_call")
    raise exc


async def _body(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "invalid_body", "message": "请求内容应为 JSON 对象。"}',
            content_type="application/json",
        )
    return body


def _text_field(body: dict[str, Any], name: str, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise HandoffRefused("内容不能为空。" if required else "格式不正确。", "invalid_body", 400)
    return value


async def _may_assist(request: web.Request, conversation_id: str, actor: Actor) -> str:
    """The conversation's channel when the user may work on it (assist, work order)."""
    service = _workspace(request).service
    if conversation_id.startswith(CALL_PREFIX):
        await service.call_for(conversation_id[len(CALL_PREFIX) :], actor)
        return CALL_CHANNEL
    handoff = await service.get(conversation_id)
    if handoff is None or handoff.state is not State.WITH_AGENT:
        raise HandoffRefused("请先接入该会话。", "not_claimed")
    if handoff.agent_id != actor.user_id and not actor.supervisor:
        raise HandoffRefused("该会话由其他客服接待，您无权操作。", "not_yours", 403)
    return handoff.channel


# ---- page and live socket --------------------------------------------------------------


@guard
async def page(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    config = _workspace(request).service.config
    return render(
        "agent/index.html",
        {
            "csrf_token": csrf_token(request),
            "user": user,
            "role_label": user.role.label,
            "wrap_up_categories": list(config.wrap_up_categories.items()),
            "hours": config.hours.describe(),
        },
    )


@guard
async def live(request: web.Request) -> web.StreamResponse:
    """Pushes console events; while open, the agent counts as present (heartbeats)."""
    workspace = _workspace(request)
    actor = _actor(request)
    token = request.cookies.get(cookie_name(request.app[keys.SETTINGS].public_url), "")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    workspace.hub.add(actor.user_id, ws)
    if workspace.service.classify is not None:
        workspace.service.classify.warm()  # agents are here: handoffs and assist will follow
    try:
        await workspace.service.seen(actor)
        while not ws.closed:
            try:
                message = await ws.receive(timeout=_HEARTBEAT_S)
            except TimeoutError:
                message = None
            if message is not None and message.type in (
                WSMsgType.CLOSE,
                WSMsgType.CLOSING,
                WSMsgType.CLOSED,
                WSMsgType.ERROR,
            ):
                break
            if await request.app[ACCOUNTS].sessions.get(token) is None:
                await ws.close(code=4001, message=b"session expired")
                break
            await workspace.service.seen(actor)
    finally:
        workspace.hub.discard(actor.user_id, ws)
    return ws


# ---- JSON API for the console ----------------------------------------------------------


@guard
async def state(request: web.Request) -> web.StreamResponse:
    service = _workspace(request).service
    actor = _actor(request)
    now = utcnow()
    queue = []
    for handoff, place in await service.queue():
        waited = (now - handoff.requested_at).total_seconds() if handoff.requested_at else 0
        queue.append(
            {
                **handoff.to_json(),
                "position": place.position,
                "wait_minutes": round(place.wait_minutes, 1),
                "waited_s": round(max(waited, 0)),
            }
        )
    presence = await service.presence.get(actor.user_id)
    on_duty = bool(presence and presence.available(now, service.config.presence_timeout_s))
    response = json_ok(
        {
            "me": {"id": actor.user_id, "name": actor.display_name, "supervisor": actor.supervisor},
            "on_duty": on_duty,
            "service_open": service.config.hours.is_open(now),
            "hours": service.config.hours.describe(),
            "queue": queue,
            "mine": [h.to_json() for h in await service.held_by(actor.user_id)],
            "notes": [n.to_json() for n in await service.notes.open_notes()],
            "calls": [c.to_json() for c in await service.calls.active_for(actor.user_id)],
            "colleagues": [
                {"id": a.user_id, "name": a.display_name} for a in await service.colleagues(actor)
            ],
            "wrap_up_categories": dict(service.config.wrap_up_categories),
        }
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@guard
async def duty(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    on_duty = body.get("on_duty")
    if not isinstance(on_duty, bool):
        return json_error(400, "请说明是否开始接待。", "invalid_body")
    await _workspace(request).service.seen(_actor(request), on_duty)
    await audit(request, "agent.duty", "", {"on_duty": on_duty})
    return json_ok({"on_duty": on_duty})


@guard
async def conversation(request: web.Request) -> web.StreamResponse:
    service = _workspace(request).service
    actor = _actor(request)
    conversation_id = _conversation_id(request)
    if not await service.can_view(conversation_id, actor):
        return json_error(403, "您无权查看该会话。", "forbidden")
    rows = await request.app[keys.TRANSCRIPT].history(conversation_id)
    handoff = await service.get(conversation_id)
    call: Call | None = None
    if conversation_id.startswith(CALL_PREFIX):
        call = await service.calls.get(conversation_id[len(CALL_PREFIX) :])
    await audit(request, "handoff.view", conversation_id)
    response = json_ok(
        {
            "conversation_id": conversation_id,
            "handoff": handoff.to_json() if handoff else None,
            "call": call.to_json() if call else None,
            "rows": [row_json(row) for row in rows],
        }
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@guard
async def claim(request: web.Request) -> web.StreamResponse:
    conversation_id = _conversation_id(request)
    try:
        handoff = await _workspace(request).service.claim(conversation_id, _actor(request))
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    await audit(request, "handoff.claim", conversation_id)
    return json_ok({"handoff": handoff.to_json()})


@guard
async def send_message(request: web.Request) -> web.StreamResponse:
    conversation_id = _conversation_id(request)
    body = await _body(request)
    suggestion_id = body.get("suggestion_id")
    if suggestion_id is not None and (
        not isinstance(suggestion_id, int) or isinstance(suggestion_id, bool)
    ):
        return json_error(400, "suggestion_id 应为整数。", "invalid_body")
    try:
        text = _text_field(body, "text")
        result = await _workspace(request).service.send(
            conversation_id, _actor(request), text, suggestion_id
        )
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    return json_ok(result)


@guard
async def transfer(request: web.Request) -> web.StreamResponse:
    conversation_id = _conversation_id(request)
    body = await _body(request)
    target = body.get("to")
    service = _workspace(request).service
    actor = _actor(request)
    try:
        if target == "queue":
            handoff = await service.requeue(conversation_id, actor)
        elif isinstance(target, int) and not isinstance(target, bool):
            handoff = await service.transfer(conversation_id, actor, target)
        else:
            return json_error(400, "请选择要转接的同事。", "invalid_body")
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    await audit(request, "handoff.transfer", conversation_id, {"to": target})
    return json_ok({"handoff": handoff.to_json()})


@guard
async def hand_back(request: web.Request) -> web.StreamResponse:
    conversation_id = _conversation_id(request)
    try:
        handoff = await _workspace(request).service.hand_back(conversation_id, _actor(request))
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    await audit(request, "handoff.hand_back", conversation_id)
    return json_ok({"handoff": handoff.to_json()})


@guard
async def close(request: web.Request) -> web.StreamResponse:
    conversation_id = _conversation_id(request)
    body = await _body(request)
    wrap_up = body.get("wrap_up")
    note = body.get("note", "")
    if not isinstance(wrap_up, str) or not isinstance(note, str):
        return json_error(400, "请选择结束分类。", "invalid_body")
    try:
        handoff = await _workspace(request).service.close(
            conversation_id, _actor(request), wrap_up, note
        )
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    await audit(request, "handoff.close", conversation_id, {"wrap_up": wrap_up})
    return json_ok({"handoff": handoff.to_json()})


@guard
async def assist(request: web.Request) -> web.StreamResponse:
    """Suggestions, classification and the draft work order for what was said so far."""
    conversation_id = _conversation_id(request)
    workspace = _workspace(request)
    actor = _actor(request)
    try:
        await _may_assist(request, conversation_id, actor)
        call = None
        if conversation_id.startswith(CALL_PREFIX):
            call = await workspace.service.call_for(conversation_id[len(CALL_PREFIX) :], actor)
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    rows = await request.app[keys.TRANSCRIPT].history(conversation_id)
    view = await workspace.service.assistant.assist(conversation_id, actor.user_id, rows)
    data = view.to_json()
    if call is not None and not data["draft"]["phone"] and call.caller:
        data["draft"]["phone"] = call.caller
    return json_ok(data)


@guard
async def submit_work_order(request: web.Request) -> web.StreamResponse:
    """The draft the agent checked and edited, submitted through the work-order desk."""
    conversation_id = _conversation_id(request)
    workspace = _workspace(request)
    actor = _actor(request)
    body = await _body(request)
    fields = {name: body.get(name, "") for name in DRAFT_FIELDS}
    if not all(isinstance(value, str) for value in fields.values()):
        return json_error(400, "工单内容格式不正确。", "invalid_body")
    try:
        channel = await _may_assist(request, conversation_id, actor)
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    openid = openid_of(conversation_id) if channel == "wechat" else None
    citizen_request = CitizenRequest(
        content=str(fields["content"]).strip(),
        phone=str(fields["phone"]).strip(),
        address=str(fields["address"]).strip(),
        name=str(fields["name"]).strip()[:32],
        request_type=str(fields["request_type"]).strip()[:8],
        department=str(fields["department"]).strip()[:64],
        urgent=body.get("urgent") is True,
        channel=channel,
        channel_user=openid or "",
        conversation_id=conversation_id,
    )
    try:
        desk = await workspace.desk()
        acceptance = await desk.submit(citizen_request)
    except WorkOrderError as exc:
        return json_error(400, exc.message, "workorder_refused")
    record = {
        "acceptance_no": acceptance.acceptance_no,
        "order_no": acceptance.order_no,
        "department": acceptance.department,
    }
    if acceptance.order_no:
        record["workorder_no"] = acceptance.order_no
    await workspace.service.record_work_order(conversation_id, channel, actor, record)
    await audit(request, "workorder.submit", acceptance.number, {"conversation": conversation_id})
    return json_ok(
        {
            "acceptance_no": acceptance.acceptance_no,
            "order_no": acceptance.order_no,
            "number": acceptance.number,
            "department": acceptance.department,
            "duplicate": acceptance.duplicate,
            "message": acceptance.message,
        }
    )


@guard
async def reply_note(request: web.Request) -> web.StreamResponse:
    raw = request.match_info["note_id"]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    body = await _body(request)
    try:
        text = _text_field(body, "text")
        result = await _workspace(request).service.answer_note(int(raw), _actor(request), text)
    except (InvalidTransition, HandoffRefused) as exc:
        return _refused(exc)
    await audit(request, "note.reply", raw)
    return json_ok(result)


# ---- calls: typed by the agent ----------------------------------------------------------


@guard
async def start_call(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    caller = body.get("caller", "")
    if not isinstance(caller, str):
        return json_error(400, "来电号码格式不正确。", "invalid_body")
    try:
        call = await _workspace(request).service.start_call(
            _actor(request), None, caller.strip(), "manual"
        )
    except CallError as exc:
        return _refused(exc)
    await audit(request, "call.start", call.call_id)
    return json_ok({"call": call.to_json()})


@guard
async def call_segment(request: web.Request) -> web.StreamResponse:
    service = _workspace(request).service
    body = await _body(request)
    speaker = body.get("speaker", "caller")
    if speaker not in _SPEAKERS:
        return json_error(400, "说话人应为 caller 或 agent。", "invalid_body")
    try:
        call = await service.call_for(request.match_info["call_id"], _actor(request))
        row_id = await service.call_segment(call, str(speaker), _text_field(body, "text"), False)
    except (HandoffRefused, CallError) as exc:
        return _refused(exc)
    return json_ok({"row_id": row_id})


@guard
async def end_call(request: web.Request) -> web.StreamResponse:
    service = _workspace(request).service
    try:
        call = await service.call_for(request.match_info["call_id"], _actor(request))
    except HandoffRefused as exc:
        return _refused(exc)
    await service.end_call(call)
    await audit(request, "call.end", call.call_id)
    return json_ok({"status": "ended"})


# ---- calls: streamed by a speech recogniser --------------------------------------------


def _asr_authorised(request: web.Request) -> web.Response | None:
    expected = request.app[keys.SETTINGS].asr_api_token
    if not expected:
        return json_error(404, "未启用语音转写接口（ASR_API_TOKEN 未设置）。", "asr_disabled")
    header = request.headers.get("Authorization", "")
    supplied = header[7:] if header.startswith("Bearer ") else ""
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        return json_error(401, "未授权，请提供有效的访问令牌。", "unauthorized")
    return None


async def asr_start_call(request: web.Request) -> web.StreamResponse:
    """``{"call_id", "agent": username, "caller"}``: the recogniser opens a call for an agent."""
    refused = _asr_authorised(request)
    if refused is not None:
        return refused
    body = await _body(request)
    call_id, username, caller = body.get("call_id"), body.get("agent"), body.get("caller", "")
    if not all(isinstance(v, str) for v in (call_id, username, caller)):
        return json_error(400, "需要 call_id、agent（坐席用户名）和 caller。", "invalid_body")
    user = await request.app[ACCOUNTS].users.get_by_username(str(username))
    if user is None or not user.active or user.role not in (Role.AGENT, Role.SUPERVISOR):
        return json_error(404, "没有找到这位坐席。", "unknown_agent")
    try:
        call = await _workspace(request).service.start_call(
            actor_of(user), str(call_id), str(caller).strip(), "asr"
        )
    except CallError as exc:
        return _refused(exc)
    return json_ok({"call": call.to_json()}, status=201)


async def asr_segment(request: web.Request) -> web.StreamResponse:
    """``{"speaker": "caller"|"agent", "text", "final": bool}``; partial results are only
    shown live, final ones go into the transcript (and feed the suggestions)."""
    refused = _asr_authorised(request)
    if refused is not None:
        return refused
    service = _workspace(request).service
    body = await _body(request)
    speaker, text, final = body.get("speaker", "caller"), body.get("text"), body.get("final", True)
    if speaker not in _SPEAKERS or not isinstance(text, str) or not isinstance(final, bool):
        return json_error(400, "需要 speaker（caller 或 agent）、text 和 final。", "invalid_body")
    call = await service.calls.get(request.match_info["call_id"])
    if call is None:
        return json_error(404, "没有找到这通电话。", "not_found")
    if not final:
        await service.bus.publish(
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
    try:
        row_id = await service.call_segment(call, str(speaker), text, True)
    except HandoffRefused as exc:
        return _refused(exc)
    return json_ok({"row_id": row_id})


async def asr_end_call(request: web.Request) -> web.StreamResponse:
    refused = _asr_authorised(request)
    if refused is not None:
        return refused
    service = _workspace(request).service
    call = await service.calls.get(request.match_info["call_id"])
    if call is None:
        return json_error(404, "没有找到这通电话。", "not_found")
    await service.end_call(call)
    return json_ok({"status": "ended"})


__all__ = ["AGENT", "setup_agent_routes"]
