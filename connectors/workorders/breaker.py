"""A circuit breaker, so a down work-order system is not hammered and callers fail fast.

closed → (``failure_threshold`` consecutive failures) → open → (``reset_timeout_s``) →
half-open: one probe call goes through; success closes the circuit, failure opens it again.
Only "the system is unavailable" counts as failure: a 404 or 409 is a healthy answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from connectors.workorders.errors import CircuitOpen


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def before_call(self) -> None:
        """Raises :class:`CircuitOpen` unless a call may go out now."""
        state = self.state
        if state is CircuitState.CLOSED:
            return
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            return
        raise CircuitOpen()

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
        self._probing = False

    def record_abandoned(self) -> None:
        """The call was cancelled before an answer: let the next caller probe."""
        self._probing = False
