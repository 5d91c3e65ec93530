"""Errors of work-order systems, each with a message a citizen can read.

They belong to the domain, not to a client: the desk, the relay and the dialogue decide on
them without knowing which connector raised them.

``retryable`` separates "try again later" (down, slow, overloaded: the outbox keeps the
request and the relay retries) from answers that will not change (not found, wrong state,
verification failed: the dialogue tells the citizen).
"""

from __future__ import annotations


class WorkOrderError(Exception):
    default_message = "工单系统处理失败，请稍后再试。"
    retryable = False

    def __init__(self, message: str | None = None, code: str = "", status: int | None = None):
        self.message = message or self.default_message
        self.code = code or type(self).__name__
        self.status = status
        super().__init__(self.message)


class WorkOrderUnavailable(WorkOrderError):
    default_message = "工单系统暂时无法访问，请稍后再试。"
    retryable = True


class WorkOrderTimeout(WorkOrderUnavailable):
    default_message = "工单系统响应超时，请稍后再试。"


class WorkOrderNotFound(WorkOrderError):
    default_message = "没有找到该工单，请核对工单号后再试。"


class WorkOrderForbidden(WorkOrderError):
    default_message = "身份核验未通过，无法查看或操作该工单。"


class WorkOrderConflict(WorkOrderError):
    default_message = "工单当前的状态不允许这项操作。"


class WorkOrderInvalid(WorkOrderError):
    default_message = "提交的信息不完整或格式不正确，请核对后再试。"


class WorkOrderAuthError(WorkOrderError):
    default_message = "工单系统暂时无法受理，请稍后再试或拨打12345热线。"
