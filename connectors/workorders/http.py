"""The aiohttp client of the reference work-order service's HTTP API (``/api/v1``).

Timeouts on every call; retries with exponential backoff and full jitter, but only for
calls that are safe to repeat (reads, and writes that carry an idempotency key, which
this client always sends); a circuit breaker in front of everything; and every failure
turned into a :class:`WorkOrderError` with a Chinese message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.workorders.errors import (
    WorkOrderError,
    WorkOrderNotFound,
    WorkOrderTimeout,
    WorkOrderUnavailable,
)
from bot.workorders.models import (
    Card,
    CitizenRequest,
    ContactProof,
    MergeCandidate,
    OrderPage,
    OrderView,
    Rating,
    Status,
)
from bot.workorders.numbers import is_order_no
from connectors.workorders.breaker import CircuitBreaker
from connectors.workorders.errors import CircuitOpen, error_for_status

logger = logging.getLogger(__name__)

API = "/api/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"
PHONE_HEADER = "X-Contact-Phone"


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in total; the n-th wait is uniform in [0, min(cap, base·2ⁿ)]."""

    attempts: int = 3
    base_s: float = 0.2
    cap_s: float = 2.0

    def delay(self, retry: int) -> float:
        return random.uniform(0.0, min(self.cap_s, self.base_s * 2**retry))


class HttpWorkOrderSystem:
    """Implements :class:`bot.workorders.system.WorkOrderSystem` over HTTP.

    Without a ``session`` it opens its own on first use (aiohttp wants a running event
    loop for that, which a process wiring things up at start may not have yet) and closes
    it in :meth:`aclose`; a session passed in stays the caller's.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        base_url: str,
        token: str,
        timeout_s: float = 5.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 2.0))
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()

    # -- the interface -------------------------------------------------------------------

    async def create(
        self,
        request: CitizenRequest,
        idempotency_key: str,
        accepted_at: datetime,
        acceptance_no: str = "",
    ) -> OrderView:
        body = {
            "request": request.to_json(),
            "accepted_at": accepted_at.isoformat(),
            "acceptance_no": acceptance_no,
        }
        data = await self._call("POST", "/orders", body, idempotency_key=idempotency_key)
        return OrderView.from_json(data)

    async def merge(
        self,
        order_no: str,
        request: CitizenRequest,
        idempotency_key: str,
        acceptance_no: str = "",
    ) -> OrderView:
        path = f"{self._order_path(order_no)}/merge"
        body: dict[str, Any] = {"request": request.to_json()}
        if acceptance_no != idempotency_key:
            # an entry from before delivery keys is retried exactly as first sent (the
            # key then is the acceptance number), so the platform still recognises it
            body["acceptance_no"] = acceptance_no
        data = await self._call("POST", path, body, idempotency_key)
        return OrderView.from_json(data)

    async def get(self, order_no: str, phone: str | None = None) -> OrderView:
        headers = {PHONE_HEADER: phone} if phone else None
        data = await self._call("GET", self._order_path(order_no), headers=headers)
        return OrderView.from_json(data)

    async def list_by_contact(self, phone: str, proof: ContactProof) -> list[OrderView]:
        body = {"phone": phone, "proof": proof.to_json()}
        data = await self._call("POST", "/orders/search", body, safe=True)
        return [OrderView.from_json(item) for item in data.get("orders", [])]

    async def similar_open(self, request: CitizenRequest, limit: int = 3) -> list[MergeCandidate]:
        body = {"request": request.to_json(), "limit": limit}
        data = await self._call("POST", "/orders/similar", body, safe=True)
        return [MergeCandidate.from_json(item) for item in data.get("candidates", [])]

    async def list_orders(
        self,
        status: Status | None = None,
        card: Card | None = None,
        department: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> OrderPage:
        """A page of the order list, for a client built with a centre or department token
        (a department sees its own orders only); pass ``next_cursor`` for the next page."""
        query = {
            "status": status.value if status else "",
            "card": card.value if card else "",
            "department": department or "",
            "cursor": cursor or "",
            "limit": str(limit),
        }
        path = "/orders?" + urlencode({name: value for name, value in query.items() if value})
        return OrderPage.from_json(await self._call("GET", path))

    async def supplement(
        self, order_no: str, phone: str, text: str, idempotency_key: str | None = None
    ) -> OrderView:
        return await self._citizen_action(
            order_no, "supplement", {"phone": phone, "text": text}, idempotency_key
        )

    async def rate(
        self,
        order_no: str,
        phone: str,
        rating: Rating,
        comment: str = "",
        idempotency_key: str | None = None,
    ) -> OrderView:
        body = {"phone": phone, "rating": rating.value, "comment": comment}
        return await self._citizen_action(order_no, "rate", body, idempotency_key)

    async def cancel(
        self, order_no: str, phone: str, reason: str = "", idempotency_key: str | None = None
    ) -> OrderView:
        body = {"phone": phone, "reason": reason}
        return await self._citizen_action(order_no, "cancel", body, idempotency_key)

    async def ready(self) -> bool:
        try:
            async with self.session.get(
                f"{self.base_url}/readyz", timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    # -- plumbing -------------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _order_path(self, order_no: str) -> str:
        if not is_order_no(order_no):
            raise WorkOrderNotFound("工单号格式不正确，工单号以 GD 开头，后接 13 位数字。")
        return f"/orders/{order_no}"

    async def _citizen_action(
        self, order_no: str, action: str, body: dict[str, Any], idempotency_key: str | None
    ) -> OrderView:
        path = f"{self._order_path(order_no)}/{action}"
        key = idempotency_key or uuid.uuid4().hex
        return OrderView.from_json(await self._call("POST", path, body, key))

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        safe: bool | None = None,
    ) -> dict[str, Any]:
        """One logical call, retried when it is safe to repeat and the failure is transient."""
        repeatable = safe if safe is not None else (method == "GET" or bool(idempotency_key))
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        if idempotency_key:
            all_headers[IDEMPOTENCY_HEADER] = idempotency_key
        attempts = self.retry.attempts if repeatable else 1
        for attempt in range(attempts):
            try:
                return await self._once(method, API + path, body, all_headers)
            except CircuitOpen:
                raise
            except WorkOrderUnavailable as exc:
                if attempt + 1 >= attempts:
                    raise
                wait = self.retry.delay(attempt)
                logger.info(
                    "work-order call %s %s failed (%s), retry in %.2fs",
                    method,
                    path,
                    exc.code,
                    wait,
                )
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _once(
        self, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        self.breaker.before_call()
        try:
            data = await self._send(method, path, body, headers)
        except WorkOrderUnavailable:
            self.breaker.record_failure()
            raise
        except WorkOrderError:
            self.breaker.record_success()  # a clear refusal means the system is up
            raise
        except BaseException:
            self.breaker.record_abandoned()
            raise
        self.breaker.record_success()
        return data

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        try:
            async with self.session.request(
                method, self.base_url + path, json=body, headers=headers, timeout=self.timeout
            ) as response:
                try:
                    payload = await response.json(content_type=None)
                except ValueError:
                    payload = None
                if 200 <= response.status < 300 and isinstance(payload, dict):
                    return payload
                if 200 <= response.status < 300:
                    raise WorkOrderUnavailable(None, "bad_payload", response.status)
                message = payload.get("message") if isinstance(payload, dict) else None
                code = payload.get("error", "") if isinstance(payload, dict) else ""
                raise error_for_status(response.status, message, str(code))
        except TimeoutError as exc:
            raise WorkOrderTimeout(None, "timeout") from exc
        except aiohttp.ClientError as exc:
            raise WorkOrderUnavailable(None, type(exc).__name__) from exc
