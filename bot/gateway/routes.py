"""Every route of the gateway, in one place."""

from __future__ import annotations

from aiohttp import web

from bot.gateway import health, rest, webchat


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", webchat.index)
    app.router.add_get("/ws", webchat.websocket)
    app.router.add_static("/static/", webchat.STATIC_DIR, append_version=True)
    app.router.add_post("/api/v1/messages", rest.post_message)
    app.router.add_get("/healthz", health.liveness)
    app.router.add_get("/readyz", health.readiness)
