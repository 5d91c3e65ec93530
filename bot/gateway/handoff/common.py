"""What every agent-workspace handler needs: who is asking, which conversation, the body.

The workspace's pages and the calls API share these, so that a conversation id, a text
field or a refusal is checked the same way on every route.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.accounts import Permission, Role, User
from bot.gateway import keys
from bot.gateway.auth import current_user, require_permission
from bot.gateway.handoff.live import HandoffWorkspace
from bot.gateway.responses import ApiError
from bot.handoff.actors import Actor

_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

guard = require_permission(
    Permission.HANDLE_CONVERSATIONS,
    refusal="坐席工作台只对话务员和班长开放，您的账号不接待市民会话。"
    "如确需接待，请由管理员为您的账号开通“处理会话”权限。",
)


def workspace(request: web.Request) -> HandoffWorkspace:
    return request.app[keys.HANDOFF]


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        supervisor=user.role in (Role.SUPERVISOR, Role.ADMIN),
    )


def actor(request: web.Request) -> Actor:
    return actor_of(current_user(request))


def conversation_id(request: web.Request) -> str:
    value = request.match_info["conversation_id"]
    if not _CONVERSATION_ID.match(value):
        raise web.HTTPNotFound()
    return value


def text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "内容不能为空。", "invalid_body")
    return value


def invalid(message: str) -> ApiError:
    """A body the handler cannot use; the message tells the agent what to fix."""
    return ApiError(400, message, "invalid_body")
