"""Every route of the gateway, in one place."""

from __future__ import annotations

from aiohttp import web

from bot.gateway import health, rest, webchat, workorder_events
from bot.gateway.agent import setup_agent_routes
from bot.gateway.assist import setup_assist_routes
from bot.gateway.auth import setup_auth_routes
from bot.gateway.supervisor import setup_supervisor_routes
from bot.gateway.wechat import setup_wechat_routes


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", webchat.index)
    app.router.add_get("/ws", webchat.websocket)
    app.router.add_static("/static/", webchat.STATIC_DIR, append_version=True)
    app.router.add_post("/api/v1/messages", rest.post_message)
    app.router.add_get("/healthz", health.liveness)
    app.router.add_get("/readyz", health.readiness)
    setup_assist_routes(app)  # agent-assist knowledge search API (+ the knowledge base)
    setup_wechat_routes(app)  # only when WECHAT_TOKEN is set
    setup_auth_routes(app)  # console login, sessions, CSRF (bot/gateway/auth.py)
    setup_supervisor_routes(app)  # supervisor console under /console/
    setup_agent_routes(app)  # agent workspace under /agent/, its API, the ASR API
    app.router.add_post(workorder_events.WEBHOOK_PATH, workorder_events.receive)  # 工单 status
