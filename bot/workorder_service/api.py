"""Request handlers of the work-order API: parse, authorise, call the service, answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.workorder_service import keys
from bot.workorder_service.auth import Kind, Principal, authenticate
from bot.workorder_service.checks import ServiceError
from bot.workorder_service.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, OrderFilter
from bot.workorder_service.openapi import document
from bot.workorder_service.responses import ApiError, error, ok, read_object
from bot.workorders.lifecycle import Action, Command
from bot.workorders.models import (
    Card,
    CitizenRequest,
    ContactProof,
    InvalidField,
    Rating,
    Status,
    check_fields,
)
from bot.workorders.numbers import is_acceptance_no
from bot.workorders.phone import InvalidPhone, validate_phone

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

IDEMPOTENCY_HEADER = "Idempotency-Key"
PHONE_HEADER = "X-Contact-Phone"


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error(exc.status, exc.code, exc.message)
    except ServiceError as exc:
        return error(exc.status, exc.code, exc.message)
    except InvalidField as exc:
        return ok({"error": "invalid_field", "field": exc.field, "message": exc.message}, 422)
    except web.HTTPException as exc:
        if exc.status == 404:
            return error(404, "no_such_path", "接口地址不存在。")
        if exc.status == 405:
            return error(405, "method_not_allowed", "不支持该请求方法。")
        if exc.status == 413:
            return error(413, "too_large", "请求内容过大。")
        raise
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal_error", "工单系统内部错误，请稍后再试。")


def _principal(request: web.Request, *allowed: Kind) -> Principal:
    settings = request.app[keys.SETTINGS]
    principal = authenticate(
        request.headers.get("Authorization"),
        settings.workorder_api_token,
        settings.workorder_token_secret,
    )
    if principal is None:
        raise ApiError(401, "unauthorized", "未授权：请在 Authorization 头中提供有效的令牌。")
    if allowed and principal.kind not in allowed:
        raise ApiError(403, "forbidden", "当前令牌无权调用该接口。")
    return principal


def _request_of(data: Any) -> CitizenRequest:
    """The citizen's request, every field checked (a wrong one is a 422 naming it)."""
    if not isinstance(data, dict):
        raise InvalidField("request", "缺少诉求信息（字段 request），或它不是 JSON 对象。")
    return CitizenRequest.from_json(data)


def _text(body: dict[str, Any], name: str) -> str:
    check_fields(body, {name: (str,)})
    return str(body.get(name, ""))


def _acceptance_no(body: dict[str, Any]) -> str:
    """The number the citizen was given (受理号), kept apart from the idempotency key."""
    number = _text(body, "acceptance_no").strip().upper()
    if number and not is_acceptance_no(number):
        raise InvalidField(
            "acceptance_no", "字段 acceptance_no 应为以 SL 开头、后接 13 位数字的受理号。"
        )
    return number


def _required(body: dict[str, Any], name: str, kind: type) -> Any:
    if name not in body:
        raise InvalidField(name, f"缺少字段 {name}。")
    check_fields(body, {name: (kind,)})
    return body[name]


# -- citizens, through the assistant ------------------------------------------------------


async def create_order(request: web.Request) -> web.Response:
    _principal(request, Kind.CLIENT)
    body = await read_object(request)
    accepted_at: datetime | None = None
    check_fields(body, {"accepted_at": (str, type(None))})
    if body.get("accepted_at"):
        try:
            accepted_at = datetime.fromisoformat(str(body["accepted_at"]))
        except ValueError:
            raise ApiError(422, "invalid_accepted_at", "受理时间格式不正确。") from None
        if accepted_at.tzinfo is None:
            raise ApiError(422, "invalid_accepted_at", "受理时间须带时区。")
    service = request.app[keys.SERVICE]
    order, created = await service.create(
        _request_of(body.get("request")),
        request.headers.get(IDEMPOTENCY_HEADER, ""),
        accepted_at,
        _acceptance_no(body),
    )
    return ok(service.view(order, full=True).to_json(), 201 if created else 200)


async def get_order(request: web.Request) -> web.Response:
    principal = _principal(request)
    service = request.app[keys.SERVICE]
    order, history, phones = await service.get(request.match_info["order_no"])
    full, show_content = False, True
    if principal.kind is Kind.CENTER:
        full = True
    elif principal.kind is Kind.DEPARTMENT:
        full = principal.department == order.department
    else:
        role = phones.get(_canonical(request.headers.get(PHONE_HEADER, "")))
        full = role is not None
        show_content = role == "primary"
    return ok(service.view(order, full, history, show_content).to_json())


async def search_by_contact(request: web.Request) -> web.Response:
    _principal(request, Kind.CLIENT)
    body = await read_object(request)
    proof_data = body.get("proof") if isinstance(body.get("proof"), dict) else {}
    assert isinstance(proof_data, dict)
    check_fields(proof_data, {name: (str,) for name in ContactProof.__dataclass_fields__}, "proof.")
    proof = ContactProof(
        order_no=str(proof_data.get("order_no", "")).strip().upper(),
        channel=str(proof_data.get("channel", "")),
        channel_user=str(proof_data.get("channel_user", "")),
    )
    service = request.app[keys.SERVICE]
    phone = _text(body, "phone")
    records = await service.by_contact(phone, proof)
    canonical = _canonical(phone)
    views = []
    for record in records:
        primary = record.request.phone == canonical
        views.append(service.view(record, True, None, show_content=primary).to_json())
    return ok({"orders": views})


async def similar_orders(request: web.Request) -> web.Response:
    _principal(request, Kind.CLIENT)
    body = await read_object(request)
    limit = body.get("limit", 3)
    limit = limit if isinstance(limit, int) and not isinstance(limit, bool) else 3
    service = request.app[keys.SERVICE]
    found = await service.similar(_request_of(body.get("request")), limit)
    return ok({"candidates": [candidate.to_json() for candidate in found]})


# -- the centre and the departments -------------------------------------------------------


async def list_orders(request: web.Request) -> web.Response:
    """A page of orders and the total; ``next_cursor`` fetches the next page."""
    principal = _principal(request, Kind.CENTER, Kind.DEPARTMENT)
    query = request.query
    try:
        status = Status(query["status"]) if query.get("status") else None
        card = Card(query["card"]) if query.get("card") else None
    except ValueError:
        raise ApiError(422, "invalid_filter", "筛选条件不正确。") from None
    limit = query.get("limit", str(DEFAULT_PAGE_SIZE))
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_PAGE_SIZE:
        raise InvalidField("limit", f"字段 limit 应为 1 至 {MAX_PAGE_SIZE} 之间的整数。")
    department = query.get("department") or None
    if principal.kind is Kind.DEPARTMENT:
        department = principal.department
    service = request.app[keys.SERVICE]
    where = OrderFilter(department, status, card)
    listed = await service.listing(where, query.get("cursor") or None, int(limit))
    return ok(
        {
            "orders": [service.view(record, True).to_json() for record in listed.orders],
            "total": listed.total,
            "next_cursor": listed.next_cursor,
        }
    )


def _command(action: Action, body: dict[str, Any]) -> Command:
    if action is Action.MERGE:
        return Command(action, text=_acceptance_no(body), request=_request_of(body.get("request")))
    if action is Action.RATE:
        try:
            rating = Rating.parse(_text(body, "rating"))
        except ValueError:
            raise ApiError(422, "invalid_rating", "评价须为：满意、基本满意或不满意。") from None
        return Command(action, text=_text(body, "comment"), rating=rating)
    if action in (Action.DISPATCH, Action.REASSIGN):
        return Command(action, text=_text(body, "reason"), department=_text(body, "department"))
    if action is Action.REQUEST_EXTENSION:
        days = int(_required(body, "days", int))
        return Command(action, text=_text(body, "reason"), days=days)
    if action is Action.DECIDE_EXTENSION:
        approve = bool(_required(body, "approve", bool))
        return Command(action, text=_text(body, "note"), approve=approve)
    field = _ACTION_TEXT.get(action, "note")
    return Command(action, text=_text(body, field))


_ACTION_TEXT = {
    Action.SUPPLEMENT: "text",
    Action.REPLY: "text",
    Action.RETURN: "reason",
    Action.CANCEL: "reason",
    Action.SUPERVISE: "reason",
}


def order_action(action: Action) -> Handler:
    """The handler of ``POST /api/v1/orders/{order_no}/<action>``; the lifecycle decides
    whether the caller's role may do it in the order's current state."""

    async def handle(request: web.Request) -> web.Response:
        principal = _principal(request)
        body = await read_object(request)
        service = request.app[keys.SERVICE]
        key = request.headers.get(IDEMPOTENCY_HEADER) or None
        phone = body.get("phone") if isinstance(body.get("phone"), str) else None
        order = await service.act(
            request.match_info["order_no"], principal.actor, _command(action, body), key, phone
        )
        show_content = principal.kind is not Kind.CLIENT or (
            action is not Action.MERGE and order.request.phone == _canonical(phone or "")
        )
        full = action is not Action.MERGE
        return ok(service.view(order, full, None, show_content).to_json())

    handle.__name__ = f"order_{action.value}"
    return handle


# -- operations ----------------------------------------------------------------------------


async def openapi(request: web.Request) -> web.Response:
    return ok(document())


async def healthz(request: web.Request) -> web.Response:
    return ok({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        async with request.app[keys.SERVICE].engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return ok({"status": "not_ready", "checks": {"database": False}}, 503)
    return ok({"status": "ready", "checks": {"database": True}})


def _canonical(phone: str) -> str:
    try:
        return validate_phone(phone).number
    except InvalidPhone:
        return ""
