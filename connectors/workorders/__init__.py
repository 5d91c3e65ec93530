"""Clients of hotline work-order systems (the 12345 platform a deployment points at).

They implement :class:`bot.workorders.system.WorkOrderSystem` and raise the errors of
:mod:`bot.workorders.errors`; nothing else of the domain is imported here.
"""

from connectors.workorders.breaker import CircuitBreaker, CircuitState
from connectors.workorders.errors import CircuitOpen
from connectors.workorders.http import HttpWorkOrderSystem, RetryPolicy

__all__ = [
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitState",
    "HttpWorkOrderSystem",
    "RetryPolicy",
]
