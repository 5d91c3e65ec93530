"""The fault drills' important cases (``make drill`` runs them all under load): the scaled
deployment behind HAProxy on a private Redis and PostgreSQL, a process killed with
``kill -9`` or a server restarted at a chosen moment, and the stores counted afterwards.

Moments are made exact, not hoped for: a turn is "in flight in Rasa" once its conversation
lock is taken in Redis while the action server is frozen (SIGSTOP), and a submission is
"in the action server" once its outbox entry exists while the work-order service is frozen.
Every wait polls a store or HAProxy; the deadlines only guard against a hang.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import pytest

from bot.bench.drill import process_id
from bot.bench.drill_audit import (
    NOTICE_STATUS,
    Counts,
    Stores,
    audit,
    wait_for_locks,
    wait_for_outbox,
)
from bot.bench.drill_citizens import Channel, Citizen, ConversationLog, Turn
from bot.bench.private_services import PrivatePostgres, PrivateRedis, postgres_available
from bot.scaled import ScaledStack, local_scaled_settings
from bot.settings import Settings

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not postgres_available(), reason="needs PostgreSQL 15's server binaries"),
]

DEADLINE_S = 120.0


class Deployment:
    def __init__(self, stack: ScaledStack, redis_server: PrivateRedis, stores: Stores) -> None:
        self.stack = stack
        self.redis_server = redis_server
        self.stores = stores

    def pid(self, name: str) -> int:
        return process_id(self.stack, name)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("fault-drills")
    redis_server, postgres = PrivateRedis(folder / "redis"), PrivatePostgres()
    settings = local_scaled_settings(
        Settings.from_env(),
        folder / "var",
        gateways=1,
        rasa=2,
        actions=1,
        database_url=postgres.url,
        redis_url=redis_server.url,
        rabbitmq_url=None,
        rasa_token=uuid.uuid4().hex,
        kb_preload=True,
        rate_limit_address_messages=1_000_000,
    )
    stack = ScaledStack(settings, gateways=1, rasa=2, actions=1)
    try:
        redis_server.start()
        postgres.start()
        stack.start(timeout_s=420, progress=lambda _: None)
        yield Deployment(stack, redis_server, Stores(postgres.url, redis_server.url))
    finally:
        stack.stop()
        redis_server.stop()
        postgres.remove()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def _until(check: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + DEADLINE_S
    while not (value := check()):
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.1)
    return value


def _settled(deployment: Deployment, logs: list[ConversationLog]) -> Counts:
    wait_for_locks(deployment.stores, logs, DEADLINE_S)
    wait_for_outbox(deployment.stores, logs, DEADLINE_S)
    counts = audit(deployment.stores, logs)
    assert counts.failures() == {}, counts
    return counts


def _lock_holder_pids(deployment: Deployment, conversation_id: str) -> set[int]:
    """The processes holding the conversation's lock; a holder id is "<host>-<pid>-<random>"
    (connectors/rasa_lock_store.py)."""
    holders = deployment.stores.redis.hvals(f"hotline:lock:{conversation_id}:holders")
    return {int(str(holder).rsplit("-", 2)[1]) for holder in holders}


def _worked(turn: Turn) -> bool:
    return turn.worked and "12345" in turn.reply


async def test_a_rasa_replica_killed_mid_turn(
    deployment: Deployment, session: aiohttp.ClientSession
) -> None:
    """The citizen gets a polite reply, the turn is on record once, the next turn is
    answered by the other replica, and the dead replica's lock does not hold it up."""
    stack = deployment.stack
    chat = Channel(
        session, stack.url, ConversationLog(f"fault-a-{uuid.uuid4().hex[:8]}", "webchat")
    )
    conversation_id = chat.log.conversation_id
    assert _worked(await chat.say("你好"))
    actions = deployment.pid("actions-1")
    os.kill(actions, signal.SIGSTOP)  # the turn waits in Rasa for its action, holding the lock
    try:
        in_flight = asyncio.create_task(chat.say("公积金提取需要什么材料"))  # a custom action
        pids = await asyncio.to_thread(
            _until, lambda: _lock_holder_pids(deployment, conversation_id), "the turn's lock"
        )
        rasa = next(name for name in ("rasa-1", "rasa-2") if deployment.pid(name) in pids)
        stack.kill(rasa)
    finally:
        os.kill(actions, signal.SIGCONT)
    polite = await in_flight
    assert polite.answered and polite.failed_politely, polite
    await asyncio.to_thread(stack.wait_for_state, "actions-1", "UP")
    assert _worked(await chat.say("你好")), chat.log.turns[-1]  # the other replica answers
    await chat.close()
    counts = await asyncio.to_thread(_settled, deployment, [chat.log])
    assert counts.turns == 3 and counts.polite == 1


async def test_redis_restarted_during_a_conversation(
    deployment: Deployment, session: aiohttp.ClientSession
) -> None:
    """Locks, rate limits and the outbox live in Redis: after a restart the conversation
    goes on, and nothing is recorded twice."""
    chat = Channel(
        session, deployment.stack.url, ConversationLog(f"fault-b-{uuid.uuid4().hex[:8]}", "rest")
    )
    assert _worked(await chat.say("你好"))
    await asyncio.to_thread(deployment.redis_server.restart)
    knowledge = await chat.say("公积金提取需要什么材料")
    assert knowledge.worked, knowledge
    assert _worked(await chat.say("你好"))
    await asyncio.to_thread(_settled, deployment, [chat.log])


async def test_action_server_killed_during_a_submission(
    deployment: Deployment, session: aiohttp.ClientSession
) -> None:
    """The request is in the durable outbox before the action server dies mid-submission;
    the relay makes exactly one work order of it, and the conversation goes on."""
    stack = deployment.stack
    stop = asyncio.Event()
    citizen = Citizen(session, stack.url, int(time.time()) % 10_000_000, "webchat", stop, (0, 0))
    conversation_id = citizen.log.conversation_id
    summary = await citizen.fill_in_complaint()
    assert "确认提交" in summary.buttons, summary
    service = deployment.pid("workorders")
    os.kill(service, signal.SIGSTOP)  # delivery of the new request hangs in flight
    try:
        submitting = asyncio.create_task(citizen.channel.say("确认提交"))
        await asyncio.to_thread(
            _until,
            lambda: deployment.stores.outbox_entries({conversation_id}),
            "the request to reach the outbox",
        )
        stack.kill("actions-1")
        assert (await submitting).answered  # whatever Rasa makes of the failed action
    finally:
        os.kill(service, signal.SIGCONT)
    await asyncio.to_thread(stack.restart, "actions-1", 300.0, lambda _: None)
    await asyncio.to_thread(stack.wait_for_state, "actions-1", "UP")
    after = await citizen.channel.say("你好")  # answered, whatever the form's state now
    assert after.worked, after
    await citizen.channel.close()
    counts = await asyncio.to_thread(_settled, deployment, [citizen.log])
    assert counts.orders == 1
    # The answer with the order's number died with the action server: the citizen hears it
    # from the order's creation instead.
    await asyncio.to_thread(
        _until,
        lambda: [
            text
            for _, role, text, data in deployment.stores.transcript([conversation_id])
            if role == "bot" and data.get("status") == NOTICE_STATUS and "工单号" in text
        ],
        "the citizen to be told the order's number",
    )
