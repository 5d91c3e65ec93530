"""Every route of the work-order service, in one place."""

from __future__ import annotations

from aiohttp import web

from bot.workorder_service import api
from bot.workorder_service.openapi import ACTIONS, ORDER_NO_PATTERN

ORDER = f"/api/v1/orders/{{order_no:{ORDER_NO_PATTERN}}}"


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/orders", api.create_order)
    app.router.add_get("/api/v1/orders", api.list_orders)
    app.router.add_post("/api/v1/orders/search", api.search_by_contact)
    app.router.add_post("/api/v1/orders/similar", api.similar_orders)
    app.router.add_get(ORDER, api.get_order)
    for action, (segment, _caller, _body, _required) in ACTIONS.items():
        app.router.add_post(f"{ORDER}/{segment}", api.order_action(action))
    app.router.add_get("/openapi.json", api.openapi)
    app.router.add_get("/healthz", api.healthz)
    app.router.add_get("/readyz", api.readyz)
