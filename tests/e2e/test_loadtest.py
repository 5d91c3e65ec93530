"""`make loadtest`'s simulated citizens, for real and briefly: locust (installed into
.venv-load by scripts/setup_load.sh, cached after the first run) runs
loadtest/locustfile.py with two citizens, one on the web chat's WebSocket and one on the
REST channel, against a one-replica scaled deployment behind HAProxy. Every conversation
they begin finishes with no failed turn, and the complaints become work orders on the
work-order platform."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.bench.load import LocustResult, ensure_locust, run_locust, scratch_backends, start_stack
from bot.scaled import ScaledStack
from bot.settings import Settings
from bot.workorder_service.auth import Kind, issue_token

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ScaledStack]:
    # The suite's servers, but a database and a Redis database of this test's own: the
    # deployment's outbox relay must never meet another stack's work orders.
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("TEST_DATABASE_URL is not set (make test sets it)")
    with scratch_backends(server, redis_url) as (database_url, own_redis_url):
        stack = start_stack(
            Settings.from_env(),
            tmp_path_factory.mktemp("load-stack"),
            replicas=1,
            actions=1,
            database_url=database_url,
            redis_url=own_redis_url,
            # A busy machine makes turns slow, never failed: the timeouts only guard a hang.
            rasa_timeout_s=240.0,
        )
        try:
            yield stack
        finally:
            stack.stop()


async def _orders_on_platform(stack: ScaledStack, expected: int) -> set[str]:
    """The numbers of the platform's orders, once it holds ``expected`` (a request accepted
    under an SL number is delivered by the relay a moment later)."""
    settings = stack.settings
    token = issue_token(settings.workorder_token_secret, Kind.CENTER)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{settings.workorder_url}/api/v1/orders?limit=100"
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            async with session.get(url) as response:
                assert response.status == 200, await response.text()
                listed = await response.json()
            if listed["total"] >= expected:
                return {order["order_no"] for order in listed["orders"]}
            await asyncio.sleep(0.5)


async def test_simulated_citizens_finish_conversations_and_file_work_orders(
    deployment: ScaledStack, tmp_path: Path
) -> None:
    await asyncio.to_thread(ensure_locust)
    result: LocustResult = await asyncio.to_thread(
        run_locust,
        deployment.url,
        users=2,
        duration_s=4,
        think="0,0.2",
        out_prefix=tmp_path / "run",
        # Time up: each citizen still finishes the conversation it is in (the timeout only
        # guards against a hang).
        stop_timeout_s=300,
        # The first citizen complains first, the second asks about standards first.
        env={"LOAD_STORIES": "complaint,knowledge,department", "LOAD_TURN_TIMEOUT_S": "300"},
    )
    assert result.turns > 0
    assert result.failures == 0 and not result.errors, result.errors
    assert result.begun == result.finished, (result.begun, result.finished)
    assert result.finished.get("complaint", 0) >= 1 and result.finished.get("knowledge", 0) >= 1
    assert len(result.work_orders) == result.finished["complaint"]

    on_platform = await asyncio.wait_for(
        _orders_on_platform(deployment, len(result.work_orders)), timeout=120
    )
    assert len(on_platform) == len(result.work_orders)
    filed = {number for number in result.work_orders if number.startswith("GD")}
    assert filed <= on_platform
