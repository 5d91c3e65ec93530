"""Clients of hotline work-order systems (the 12345 platform a deployment points at)."""

from connectors.workorders.base import WorkOrderSystem
from connectors.workorders.breaker import CircuitBreaker, CircuitState
from connectors.workorders.errors import (
    CircuitOpen,
    WorkOrderConflict,
    WorkOrderError,
    WorkOrderForbidden,
    WorkOrderInvalid,
    WorkOrderNotFound,
    WorkOrderTimeout,
    WorkOrderUnavailable,
)
from connectors.workorders.http import HttpWorkOrderSystem, RetryPolicy

__all__ = [
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitState",
    "HttpWorkOrderSystem",
    "RetryPolicy",
    "WorkOrderConflict",
    "WorkOrderError",
    "WorkOrderForbidden",
    "WorkOrderInvalid",
    "WorkOrderNotFound",
    "WorkOrderSystem",
    "WorkOrderTimeout",
    "WorkOrderUnavailable",
]
