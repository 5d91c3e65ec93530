"""Chooses and builds the clients of outside systems, for the processes that start here.

The domain takes interfaces (:class:`bot.workorders.system.WorkOrderSystem`) and never
builds an HTTP client; the action server, the gateway, the relay command and the
benchmarks call this module when they start, so that which connector a deployment uses
is decided in one place.
"""

from __future__ import annotations

import logging

from bot.console.events import EventFeed
from bot.settings import Settings
from bot.workorders.system import WorkOrderSystem
from connectors.rabbitmq import RabbitMQEventFeed
from connectors.workorders import HttpWorkOrderSystem

logger = logging.getLogger(__name__)


def workorder_system(settings: Settings) -> WorkOrderSystem:
    """The client of the work-order platform at ``WORKORDER_URL``; it opens its HTTP
    session on first use and closes it in ``aclose``."""
    if not settings.workorder_api_token:
        logger.warning("WORKORDER_API_TOKEN is empty: the work-order system will refuse us")
    return HttpWorkOrderSystem(
        None,
        settings.workorder_url,
        settings.workorder_api_token,
        timeout_s=settings.workorder_timeout_s,
    )


def event_feed(settings: Settings) -> EventFeed | None:
    """Rasa's event stream on RabbitMQ, when ``RABBITMQ_URL`` is set."""
    if not settings.rabbitmq_url:
        return None
    return RabbitMQEventFeed(settings.rabbitmq_url, settings.rabbitmq_queue)
