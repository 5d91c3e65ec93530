"""Two Rasa replicas asking for the same conversation's lock at the same instant.

"The same instant" is made exact, not hoped for: a private Redis pauses every write
(``CLIENT PAUSE … WRITE``) until both replicas have reached their write, then lets them go
together. Rasa's stock ``RedisLockStore`` reads the lock before writing it, so both read
"no tickets" and both come away holding ticket 0 — two replicas inside one conversation.
The atomic store issues tickets in one script, so the second replica queues behind the first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.rasa_runtime import RASA_BIN
from tests.support.workorders import free_port

RASA_PYTHON = RASA_BIN.parent / "python"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None or not RASA_PYTHON.exists(),
    reason="needs redis-server and the Rasa runtime",
)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Redis]:
    """A Redis of our own: pausing writes must not stall anything else on the machine."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield Redis(port=port)
    finally:
        server.terminate()
        server.wait()


async def _race(kind: str, client: Redis) -> list[int]:
    while True:  # the server is up when it answers
        try:
            await client.ping()
            break
        except RedisConnectionError:
            await asyncio.sleep(0.05)
    port = client.connection_pool.connection_kwargs["port"]
    await client.execute_command("CLIENT", "PAUSE", 600_000, "WRITE")
    replicas = [
        await asyncio.create_subprocess_exec(
            str(RASA_PYTHON),
            str(Path(__file__).with_name("issue_ticket.py")),
            kind,
            str(port),
            "citizen-1",
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    # Wait until both replicas are held at their first write: nothing is written yet.
    while int((await client.info("clients"))["blocked_clients"]) < 2:  # noqa: ASYNC110 - state lives in Redis
        await asyncio.sleep(0.05)
    await client.execute_command("CLIENT", "UNPAUSE")
    outputs = [await replica.communicate() for replica in replicas]
    await client.aclose()
    assert [replica.returncode for replica in replicas] == [0, 0]
    return sorted(int(out.decode()) for out, _ in outputs)


async def test_stock_redis_lock_store_lets_two_replicas_hold_the_same_ticket(
    private_redis: Redis,
) -> None:
    """Documents the defect the atomic store exists for (RasaHQ/rasa#9213)."""
    assert await _race("stock", private_redis) == [0, 0]


async def test_atomic_lock_store_queues_the_second_replica(private_redis: Redis) -> None:
    assert await _race("atomic", private_redis) == [1, 2]


async def _issue(port: int, conversation: str) -> int:
    replica = await asyncio.create_subprocess_exec(
        str(RASA_PYTHON),
        str(Path(__file__).with_name("issue_ticket.py")),
        "atomic",
        str(port),
        conversation,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await replica.communicate()
    assert replica.returncode == 0
    return int(out.decode())


async def test_a_dead_replicas_ticket_is_dropped_once_its_heartbeat_stops(
    private_redis: Redis,
) -> None:
    """A replica that dies holding a conversation's lock (here: it exits without releasing
    it, as ``kill -9`` would) stops renewing its heartbeat; the next replica's ticket then
    drops the dead one's instead of queueing behind it for the whole lock lifetime."""
    while True:
        try:
            await private_redis.ping()
            break
        except RedisConnectionError:
            await asyncio.sleep(0.05)
    port = private_redis.connection_pool.connection_kwargs["port"]
    assert await _issue(port, "citizen-2") == 1
    # Event-driven: the dead replica's heartbeat key expires on its own (a few seconds).
    while await private_redis.keys("hotline:holder:*"):  # noqa: ASYNC110 - state lives in Redis
        await asyncio.sleep(0.1)
    assert await _issue(port, "citizen-2") == 2
    assert await private_redis.zrange("hotline:lock:citizen-2", 0, -1) == [b"2"]
    await private_redis.aclose()
