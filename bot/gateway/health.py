"""Liveness (the process answers) and readiness (it can serve a citizen) probes."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from bot.gateway import keys
from bot.gateway.responses import json_ok


async def liveness(request: web.Request) -> web.Response:
    return json_ok({"status": "ok"})


async def readiness(request: web.Request) -> web.Response:
    checks: dict[str, bool] = {"rasa": await request.app[keys.RASA].ready()}
    try:
        async with request.app[keys.DB].connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        checks["database"] = False
    if keys.REDIS in request.app:
        try:
            checks["redis"] = bool(await request.app[keys.REDIS].ping())
        except Exception:
            checks["redis"] = False
    ready = all(checks.values())
    return json_ok(
        {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
    )
