"""Citizens' data: find a citizen's conversations and delete them, and run retention now."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.accounts import Permission
from bot.gateway import keys
from bot.gateway.auth import audit, require_permission
from bot.gateway.console.common import console_services, context, form_fields
from bot.gateway.pages import render
from bot.privacy import mask_identifier, mask_personal_data


def _privacycontext(request: web.Request, **values: Any) -> dict[str, Any]:
    settings = request.app[keys.SETTINGS]
    return context(
        request,
        "privacy",
        retention_days=settings.retention_days,
        retention_mode=settings.retention_mode,
        retention_interval=settings.retention_interval_minutes,
        **{"matches": None, "masked_identifier": "", **values},
    )


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def privacy_page(request: web.Request) -> web.StreamResponse:
    return render("console/privacy.html", _privacycontext(request))


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def privacy_search(request: web.Request) -> web.StreamResponse:
    form = await form_fields(request)
    identifier = form.get("identifier", "").strip()[:128]
    matches = (
        await console_services(request).retention.find_citizen(identifier) if identifier else []
    )
    # The term identifies the citizen (a number, a sender id): the log keeps it masked.
    await audit(request, "citizen.search", mask_identifier(identifier), {"matches": len(matches)})
    return render(
        "console/privacy.html",
        _privacycontext(
            request,
            matches=matches,
            masked_identifier=mask_personal_data(identifier),
        ),
    )


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def privacy_delete(request: web.Request) -> web.StreamResponse:
    data = await request.post()
    seqs = sorted({int(v) for v in data.getall("seq", []) if isinstance(v, str) and v.isdigit()})
    if data.get("confirm") != "yes" or not seqs:
        return render(
            "console/privacy.html",
            _privacycontext(request, error="请勾选要删除的会话并确认删除。"),
            status=400,
        )
    deleted = await console_services(request).retention.delete_conversations(seqs)
    await audit(request, "citizen.delete", f"{len(deleted)} conversations", {"seqs": seqs})
    return render(
        "console/privacy.html",
        _privacycontext(request, notice=f"已删除 {len(deleted)} 个会话及其全部记录。"),
    )


@require_permission(Permission.DELETE_CITIZEN_DATA)
async def retention_now(request: web.Request) -> web.StreamResponse:
    settings = request.app[keys.SETTINGS]
    if settings.retention_days <= 0:
        return render(
            "console/privacy.html",
            _privacycontext(request, error="未启用数据保留期限（RETENTION_DAYS 为 0）。"),
            status=400,
        )
    result = await console_services(request).retention.run(
        settings.retention_days, settings.retention_mode
    )
    await audit(
        request,
        "retention.run",
        result.mode,
        {"conversations": result.conversations, "cutoff": result.cutoff.isoformat()},
    )
    action = "匿名化" if result.mode == "anonymise" else "删除"
    return render(
        "console/privacy.html",
        _privacycontext(request, notice=f"已{action} {result.conversations} 个过期会话。"),
    )
