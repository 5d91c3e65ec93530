"""The scaled deployment, for real: two gateways, two Rasa servers and an action server
behind HAProxy, on PostgreSQL (this session's fresh database) and a Redis of its own.

Which replica served what is read from HAProxy's own request log and stats socket, so the
assertions are about the routing HAProxy did, not about timing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import psycopg2
import pytest

from bot.bench.private_services import PrivateRedis
from bot.conversation.service import UNAVAILABLE_REPLY
from bot.loadbalancer import log_records
from bot.scaled import ScaledStack, local_scaled_settings
from bot.settings import Settings
from connectors.rasa import WEBHOOK_PATH
from tests.e2e.chat import WebChat

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        shutil.which("haproxy") is None or shutil.which("redis-server") is None,
        reason="needs haproxy and redis-server (make setup installs haproxy)",
    ),
]

LOG_DEADLINE_S = 60.0  # HAProxy writes a request's line as it ends; this only guards a hang


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[ScaledStack]:
    folder = tmp_path_factory.mktemp("scaled-lb")
    redis = PrivateRedis(folder / "redis")
    redis.start()
    settings = local_scaled_settings(
        Settings.from_env(),
        folder / "var",
        gateways=2,
        rasa=2,
        actions=1,
        rasa_token=uuid.uuid4().hex,
        database_url=postgres_url,
        redis_url=redis.url,
        kb_preload=False,  # these turns need no search: start faster
        rate_limit_address_messages=1_000_000,  # every simulated citizen is on 127.0.0.1
    )
    stack = ScaledStack(settings, gateways=2, rasa=2, actions=1)
    try:
        stack.start(timeout_s=600, progress=lambda _: None)
        yield stack
    finally:
        stack.stop()
        redis.stop()


async def _records(
    stack: ScaledStack, conversation_id: str, frontend: str, count: int
) -> list[dict[str, str]]:
    """The first ``count`` request lines of ``frontend`` for the conversation, once written."""
    log = stack.settings.var_dir / "logs" / "haproxy.log"
    deadline = asyncio.get_running_loop().time() + LOG_DEADLINE_S
    while True:
        found = [
            record
            for record in log_records(log)
            if record["frontend"] == frontend and record["conversation"] == conversation_id
        ]
        if len(found) >= count:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"{found} in {log}"
        await asyncio.sleep(0.2)


async def _rest_turn(
    session: aiohttp.ClientSession, stack: ScaledStack, conversation_id: str, text: str
) -> dict[str, Any]:
    async with session.post(
        f"{stack.url}/api/v1/messages",
        params={"conversation_id": conversation_id},
        json={"message": text},
    ) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    assert body["conversation_id"] == conversation_id
    return body


async def test_a_web_chat_turn_through_haproxy_gets_a_real_answer(scaled: ScaledStack) -> None:
    async with aiohttp.ClientSession() as session:
        chat = await WebChat.open(session, scaled.url, f"lb-{uuid.uuid4().hex[:8]}")
        reply = await chat.say("你好")
        await chat.ws.close()
    assert reply["status"] == "ok", reply
    assert "12345" in WebChat.text_of(reply)


async def test_a_conversation_keeps_its_gateway_and_rasa_replica_across_channels(
    scaled: ScaledStack,
) -> None:
    conversation_id = f"sticky-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        chat = await WebChat.open(session, scaled.url, conversation_id)
        assert "12345" in WebChat.text_of(await chat.say("你好"))
        await chat.ws.close()  # HAProxy logs the socket when it ends
        rest = await _rest_turn(session, scaled, conversation_id, "谢谢")
        assert rest["status"] == "ok"
        # Other conversations are spread over both replicas: the stickiness above is the
        # hash at work, not a single replica taking everything.
        others = [f"spread-{uuid.uuid4().hex[:8]}" for _ in range(16)]
        for other in others:
            await _rest_turn(session, scaled, other, "你好")

    public = await _records(scaled, conversation_id, "public", 2)
    assert {r["path"] for r in public} == {"/ws", "/api/v1/messages"}
    assert len({r["server"] for r in public}) == 1, public
    turns = [
        r for r in await _records(scaled, conversation_id, "rasa", 2) if r["path"] == WEBHOOK_PATH
    ]
    assert len(turns) == 2 and len({r["server"] for r in turns}) == 1, turns
    served_by = {(await _records(scaled, other, "rasa", 1))[0]["server"] for other in others}
    assert served_by == {"rasa/rasa-1", "rasa/rasa-2"}

    # Both turns are in one Rasa conversation, stored once each.
    with psycopg2.connect(scaled.settings.database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id",
            (conversation_id,),
        )
        texts = [json.loads(data)["text"] for (data,) in cursor.fetchall()]
    assert texts == ["你好", "谢谢"]


async def test_the_conversation_goes_on_when_its_gateway_is_killed(scaled: ScaledStack) -> None:
    conversation_id = f"failover-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        chat = await WebChat.open(session, scaled.url, conversation_id)
        assert "12345" in WebChat.text_of(await chat.say("你好"))
        await chat.ws.close()
        gateway = (await _records(scaled, conversation_id, "public", 1))[0]["server"]
        victim = gateway.removeprefix("gateways/")
        scaled.kill(victim)
        await asyncio.to_thread(scaled.wait_for_state, victim, "DOWN")

        # The page reconnects with its id: another gateway has the history and answers.
        ws = await session.ws_connect(f"{scaled.url}/ws?conversation_id={conversation_id}")
        assert json.loads(await ws.receive_str(timeout=30))["type"] == "session"
        history = json.loads(await ws.receive_str(timeout=30))
        assert [m["text"] for m in history["messages"]][:1] == ["你好"]
        chat = WebChat(ws, conversation_id)
        reply = await chat.say("谢谢")
        await ws.close()
        assert reply["status"] == "ok" and WebChat.text_of(reply) != UNAVAILABLE_REPLY
        rest = await _rest_turn(session, scaled, conversation_id, "你好")
        assert rest["status"] == "ok"

        await asyncio.to_thread(scaled.restart, victim, 300.0, lambda _: None)
        assert scaled.server_states()[("gateways", victim)] == "UP"

    before, *after = await _records(scaled, conversation_id, "public", 3)
    assert before["server"] == gateway
    survivors = {r["server"] for r in after}
    assert len(survivors) == 1 and gateway not in survivors, after  # one took over
