"""The agent workspace (坐席工作台): the page, its live socket and its JSON API.

Every route requires a logged-in user allowed to handle conversations (agents and
supervisors, see ``bot.accounts.roles``; ``require_permission``: session cookie,
CSRF token on every POST, same-origin check on the WebSocket upgrade), and every
conversation is checked against the user: an agent acts only on waiting conversations and
on those they hold (supervisors on any). Everything a citizen wrote is sent as JSON and
rendered by the page with ``textContent`` only; the page's CSP forbids inline scripts.
Refusals are raised (the handoff domain's errors, :class:`ApiError`) and answered by the
error middleware. Phone calls and the ASR API are in ``bot/gateway/handoff/calls.py``.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from bot.clock import utcnow
from bot.gateway import keys
from bot.gateway.auth import audit, cookie_name, csrf_token, current_user
from bot.gateway.handoff.common import (
    actor,
    conversation_id,
    guard,
    invalid,
    text_field,
    workspace,
)
from bot.gateway.middleware import open_socket
from bot.gateway.pages import SECURITY_HEADERS, render
from bot.gateway.responses import ApiError, json_ok, read_object
from bot.handoff.actors import Actor, HandoffRefused
from bot.handoff.calls import CALL_CHANNEL, Call, call_id_of
from bot.handoff.draft import citizen_statements, matter_title
from bot.handoff.outbound import row_json
from bot.handoff.states import State
from bot.wechat import CHANNEL as WECHAT_CHANNEL
from bot.wechat import openid_of
from bot.workorders.errors import WorkOrderError
from bot.workorders.models import CitizenRequest

_HEARTBEAT_S = 20.0
DRAFT_FIELDS = ("content", "address", "name", "phone", "request_type", "department")


async def _may_assist(request: web.Request, conversation: str, who: Actor) -> str:
    """The conversation's channel when the user may work on it (assist, work order)."""
    service = workspace(request).service
    call_id = call_id_of(conversation)
    if call_id is not None:
        await service.calls.for_actor(call_id, who)
        return CALL_CHANNEL
    handoff = await service.get(conversation)
    if handoff is None or handoff.state is not State.WITH_AGENT:
        raise HandoffRefused("请先接入该会话。", "not_claimed")
    if handoff.agent_id != who.user_id and not who.supervisor:
        raise HandoffRefused("该会话由其他客服接待，您无权操作。", "not_yours", 403)
    return handoff.channel


# ---- page and live socket --------------------------------------------------------------


@guard
async def page(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    config = workspace(request).service.config
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
    space = workspace(request)
    who = actor(request)
    token = request.cookies.get(cookie_name(request.app[keys.SETTINGS].public_url), "")
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await open_socket(request, ws)
    space.hub.add(who.user_id, ws)
    if space.service.classify is not None:
        space.service.classify.warm()  # agents are here: handoffs and assist will follow
    try:
        await space.service.seen(who)
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
            if await request.app[keys.ACCOUNTS].sessions.get(token) is None:
                await ws.close(code=4001, message=b"session expired")
                break
            await space.service.seen(who)
    finally:
        space.hub.discard(who.user_id, ws)
    return ws


# ---- JSON API for the console ----------------------------------------------------------


@guard
async def state(request: web.Request) -> web.StreamResponse:
    service = workspace(request).service
    who = actor(request)
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
    presence = await service.presence.get(who.user_id)
    on_duty = bool(presence and presence.available(now, service.config.presence_timeout_s))
    response = json_ok(
        {
            "me": {"id": who.user_id, "name": who.display_name, "supervisor": who.supervisor},
            "on_duty": on_duty,
            "duty_warning": _duty_warning(request) if on_duty else "",
            "service_open": service.config.hours.is_open(now),
            "hours": service.config.hours.describe(),
            "queue": queue,
            "mine": [h.to_json() for h in await service.held_by(who.user_id)],
            "notes": [n.to_json() for n in await service.notes.store.open_notes()],
            "answered_notes": [n.to_json() for n in await service.notes.store.answered_notes()],
            "calls": [c.to_json() for c in await service.calls.store.active_for(who.user_id)],
            "colleagues": [
                {"id": a.user_id, "name": a.display_name} for a in await service.colleagues(who)
            ],
            "wrap_up_categories": dict(service.config.wrap_up_categories),
        }
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@guard
async def duty(request: web.Request) -> web.StreamResponse:
    on_duty = (await read_object(request)).get("on_duty")
    if not isinstance(on_duty, bool):
        raise invalid("请说明是否开始接待。")
    await workspace(request).service.seen(actor(request), on_duty)
    await audit(request, "agent.duty", "", {"on_duty": on_duty})
    return json_ok({"on_duty": on_duty, "warning": _duty_warning(request) if on_duty else ""})


def _duty_warning(request: web.Request) -> str:
    """Going on duty while citizens cannot be queued is allowed (notes and calls still
    come in), but the agent must know why no conversation will arrive."""
    hours = workspace(request).service.config.hours
    if hours.is_open(utcnow()):
        return ""
    return (
        f"现在不是在线人工服务时间（{hours.describe()}），市民暂时无法转人工；"
        "您可以先处理留言和来电。"
    )


@guard
async def conversation(request: web.Request) -> web.StreamResponse:
    service = workspace(request).service
    conversation = conversation_id(request)
    if not await service.can_view(conversation, actor(request)):
        raise ApiError(403, "您无权查看该会话。", "forbidden")
    rows = await request.app[keys.TRANSCRIPT].history(conversation)
    handoff = await service.get(conversation)
    call_id = call_id_of(conversation)
    call: Call | None = await service.calls.store.get(call_id) if call_id is not None else None
    await audit(request, "handoff.view", conversation)
    response = json_ok(
        {
            "conversation_id": conversation,
            "matter": matter_title(citizen_statements(rows)),
            "handoff": handoff.to_json() if handoff else None,
            "call": call.to_json() if call else None,
            "rows": [row_json(row) for row in rows],
        }
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@guard
async def claim(request: web.Request) -> web.StreamResponse:
    conversation = conversation_id(request)
    handoff = await workspace(request).service.claim(conversation, actor(request))
    await audit(request, "handoff.claim", conversation)
    return json_ok({"handoff": handoff.to_json()})


@guard
async def send_message(request: web.Request) -> web.StreamResponse:
    conversation = conversation_id(request)
    body = await read_object(request)
    suggestion_id = body.get("suggestion_id")
    if suggestion_id is not None and (
        not isinstance(suggestion_id, int) or isinstance(suggestion_id, bool)
    ):
        raise invalid("suggestion_id 应为整数。")
    text = text_field(body, "text")
    result = await workspace(request).service.send(
        conversation, actor(request), text, suggestion_id
    )
    return json_ok(result)


@guard
async def transfer(request: web.Request) -> web.StreamResponse:
    conversation = conversation_id(request)
    target = (await read_object(request)).get("to")
    service = workspace(request).service
    if target == "queue":
        handoff = await service.requeue(conversation, actor(request))
    elif isinstance(target, int) and not isinstance(target, bool):
        handoff = await service.transfer(conversation, actor(request), target)
    else:
        raise invalid("请选择要转接的同事。")
    await audit(request, "handoff.transfer", conversation, {"to": target})
    return json_ok({"handoff": handoff.to_json()})


@guard
async def hand_back(request: web.Request) -> web.StreamResponse:
    conversation = conversation_id(request)
    handoff = await workspace(request).service.hand_back(conversation, actor(request))
    await audit(request, "handoff.hand_back", conversation)
    return json_ok({"handoff": handoff.to_json()})


@guard
async def close(request: web.Request) -> web.StreamResponse:
    conversation = conversation_id(request)
    body = await read_object(request)
    wrap_up = body.get("wrap_up")
    note = body.get("note", "")
    if not isinstance(wrap_up, str) or not isinstance(note, str):
        raise invalid("请选择结束分类。")
    handoff = await workspace(request).service.close(conversation, actor(request), wrap_up, note)
    await audit(request, "handoff.close", conversation, {"wrap_up": wrap_up})
    return json_ok({"handoff": handoff.to_json()})


@guard
async def assist(request: web.Request) -> web.StreamResponse:
    """Suggestions, classification and the draft work order for what was said so far."""
    conversation = conversation_id(request)
    service = workspace(request).service
    who = actor(request)
    await _may_assist(request, conversation, who)
    call_id = call_id_of(conversation)
    call = await service.calls.for_actor(call_id, who) if call_id is not None else None
    rows = await request.app[keys.TRANSCRIPT].history(conversation)
    view = await service.assistant.assist(conversation, who.user_id, rows)
    data = view.to_json()
    if call is not None and not data["draft"]["phone"] and call.caller:
        data["draft"]["phone"] = call.caller
    return json_ok(data)


@guard
async def submit_work_order(request: web.Request) -> web.StreamResponse:
    """The draft the agent checked and edited, submitted through the work-order desk."""
    conversation = conversation_id(request)
    space = workspace(request)
    who = actor(request)
    body = await read_object(request)
    fields = {name: body.get(name, "") for name in DRAFT_FIELDS}
    if not all(isinstance(value, str) for value in fields.values()):
        raise invalid("工单内容格式不正确。")
    channel = await _may_assist(request, conversation, who)
    openid = openid_of(conversation) if channel == WECHAT_CHANNEL else None
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
        conversation_id=conversation,
    )
    try:
        desk = await space.desk()
        acceptance = await desk.submit(citizen_request)
    except WorkOrderError as exc:
        raise ApiError(400, exc.message, "workorder_refused") from exc
    record = {
        "acceptance_no": acceptance.acceptance_no,
        "order_no": acceptance.order_no,
        "department": acceptance.department,
    }
    if acceptance.order_no:
        record["workorder_no"] = acceptance.order_no
    await space.service.record_work_order(conversation, channel, who, record)
    message = acceptance.message
    if acceptance.duplicate:  # for the agent: the citizen is told nothing new
        message = f"该诉求已登记过工单（{acceptance.number}），无需重复提交。"
    await audit(request, "workorder.submit", acceptance.number, {"conversation": conversation})
    return json_ok(
        {
            "acceptance_no": acceptance.acceptance_no,
            "order_no": acceptance.order_no,
            "number": acceptance.number,
            "department": acceptance.department,
            "duplicate": acceptance.duplicate,
            "message": message,
        }
    )


@guard
async def reply_note(request: web.Request) -> web.StreamResponse:
    raw = request.match_info["note_id"]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    text = text_field(await read_object(request), "text")
    result = await workspace(request).service.notes.answer(int(raw), actor(request), text)
    await audit(request, "note.reply", raw)
    return json_ok(result)
