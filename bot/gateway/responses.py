"""JSON responses in Chinese-friendly form (no \\u escapes), and the error shape."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.jsonbody import JsonRejected, parse_json

_MESSAGES = {
    400: "请求格式不正确。",
    401: "未授权，请提供有效的访问令牌。",
    403: "没有访问权限。",
    404: "您访问的地址不存在。",
    405: "不支持该请求方法。",
    413: "请求内容过大，请精简后再发送。",
    415: "不支持的内容类型，请使用 application/json。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务暂时出现问题，请稍后再试。",
}


def json_dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=json_dumps)


def json_error(status: int, message: str | None = None, code: str | None = None) -> web.Response:
    body = {
        "error": code or f"http_{status}",
        "message": message or _MESSAGES.get(status, "请求失败。"),
    }
    return json_ok(body, status=status)


class ApiError(Exception):
    """A refusal the client is meant to read: handlers raise it, the error middleware
    answers with :func:`json_error`, so no handler repeats the translation."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; a body that is not JSON is the client's error."""
    if request.content_type != "application/json":
        raise ApiError(415, _MESSAGES[415], "unsupported_media_type")
    try:
        return parse_json(await request.read())
    except JsonRejected as exc:
        raise ApiError(400, str(exc), "invalid_json") from None


async def read_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, for APIs whose fields are named."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "请求内容应为 JSON 对象。", "invalid_body")
    return body
