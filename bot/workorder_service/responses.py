"""JSON in and out: UTF-8 without escapes, and one error shape ``{error, message}``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.jsonbody import JsonRejected, parse_json


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def error(status: int, code: str, message: str) -> web.Response:
    return ok({"error": code, "message": message}, status)


class ApiError(Exception):
    """Raised by handlers; the middleware turns it into :func:`error`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


async def read_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "请使用 application/json 提交数据。")
    try:
        data = parse_json(await request.read())
    except JsonRejected as exc:
        raise ApiError(400, "invalid_json", str(exc)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "请求体应为 JSON 对象。")
    return data
