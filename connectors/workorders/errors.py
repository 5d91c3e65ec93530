"""How the HTTP client turns what went wrong on the wire into the domain's errors."""

from __future__ import annotations

from bot.workorders.errors import (
    WorkOrderAuthError,
    WorkOrderConflict,
    WorkOrderError,
    WorkOrderForbidden,
    WorkOrderInvalid,
    WorkOrderNotFound,
    WorkOrderTimeout,
    WorkOrderUnavailable,
)


class CircuitOpen(WorkOrderUnavailable):
    """Raised by the client itself, without a call, while the breaker is open."""

    default_message = "工单系统暂时不可用，正在自动恢复，请稍后再试。"


def error_for_status(status: int, message: str | None, code: str) -> WorkOrderError:
    """The error for an HTTP answer that is not a success."""
    if status == 401:
        return WorkOrderAuthError(None, code or "unauthorized", status)
    if status == 403:
        return WorkOrderForbidden(message, code, status)
    if status == 404:
        return WorkOrderNotFound(message, code, status)
    if status == 409:
        return WorkOrderConflict(message, code, status)
    if status in (400, 413, 415, 422):
        return WorkOrderInvalid(message, code, status)
    if status == 429:
        return WorkOrderUnavailable("工单系统繁忙，请稍后再试。", code or "busy", status)
    if status == 504:
        return WorkOrderTimeout(None, code or "gateway_timeout", status)
    return WorkOrderUnavailable(None, code or f"http_{status}", status)
