"""What every console page needs: its services, the user's rights, the page context.

Pages are server-rendered (autoescaped Jinja2, strict CSP, charts as inline SVG) and
forms post back with the session's CSRF token, so the console works without JavaScript.
Personal data is shown masked unless the user holds ``unmask_personal_data`` *and* asked
for it (``?unmask=1``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.accounts import Permission
from bot.clock import beijing_day, beijing_time, utcnow
from bot.console.labels import (
    CHANNEL_LABELS,
    ENTITY_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    actions_text,
    entities_text,
    intent_label,
)
from bot.console.queries import ConversationFilter
from bot.gateway import keys
from bot.gateway.auth import csrf_token, current_user
from bot.gateway.console.services import ConsoleServices
from bot.gateway.pages import SECURITY_HEADERS
from bot.privacy import contains_personal_data

REVIEW = Permission.REVIEW_CONVERSATIONS
EXPORT = Permission.EXPORT_DATA
UNMASK = Permission.UNMASK_PERSONAL_DATA


def console_services(request: web.Request) -> ConsoleServices:
    return request.app[keys.CONSOLE]


def wants_unmask(request: web.Request) -> bool:
    return request.query.get("unmask") == "1" and current_user(request).can(UNMASK)


def context(request: web.Request, active: str, **values: Any) -> dict[str, Any]:
    user = current_user(request)
    return {
        "user": user,
        "csrf_token": csrf_token(request),
        "active": active,
        "can_review": user.can(REVIEW),
        "can_export": user.can(EXPORT),
        "can_unmask": user.can(UNMASK),
        "can_metrics": user.can(Permission.VIEW_METRICS),
        "can_delete": user.can(Permission.DELETE_CITIZEN_DATA),
        "can_audit": user.can(Permission.VIEW_AUDIT_LOG),
        "can_knowledge": user.can(Permission.EDIT_KNOWLEDGE),
        "local_time": local_time,
        "intent_label": intent_label,
        "role_labels": ROLE_LABELS,
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "entity_labels": ENTITY_LABELS,
        "entities_text": entities_text,
        "actions_text": actions_text,
        "error": None,
        "notice": None,
        **values,
    }


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return beijing_time(moment)


def seq_of(request: web.Request) -> int:
    return int(request.match_info["seq"])


def attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS}


def today() -> str:
    return beijing_day(utcnow()).strftime("%Y%m%d")


async def form_fields(request: web.Request) -> dict[str, str]:
    """The text fields of a posted form (the first value of each)."""
    fields: dict[str, str] = {}
    for name, value in (await request.post()).items():
        if isinstance(value, str):
            fields.setdefault(name, value)
    return fields


def search_refusal(request: web.Request, filters: ConversationFilter) -> str | None:
    if (
        filters.query
        and contains_personal_data(filters.query)
        and not current_user(request).can(UNMASK)
    ):
        return "按电话、证件号等个人信息搜索需要“查看个人信息”权限，请联系管理员。"
    return None
