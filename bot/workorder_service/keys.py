"""Typed keys for what the work-order service keeps on its application object."""

from __future__ import annotations

from aiohttp import web

from bot.settings import Settings
from bot.workorder_service.service import WorkOrderService

SETTINGS = web.AppKey("settings", Settings)
SERVICE = web.AppKey("service", WorkOrderService)
