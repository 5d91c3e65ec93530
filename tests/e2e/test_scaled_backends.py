"""Scaled out: Rasa's SQL tracker store on PostgreSQL and its Redis lock store, for real."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import aiohttp
import psycopg2
import pytest
from redis.asyncio import Redis

from bot.bench.common import free_port
from bot.launcher import ManagedProcess, Stack
from bot.rasa_runtime import ensure_model, rasa_environment, rasa_server_command, write_endpoints
from bot.settings import Settings
from connectors.rasa import WEBHOOK_PATH
from tests.e2e.chat import WebChat

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


async def _watch_lock_commands(
    redis_url: str, conversation_id: str, watching: asyncio.Event, locked: asyncio.Event
) -> None:
    """Reads Redis's MONITOR stream until cancelled; no timeouts, so a busy machine only
    makes it slower, never wrong."""
    client = Redis.from_url(redis_url)
    try:
        async with client.monitor() as monitor:
            watching.set()
            async for command in monitor.listen():
                text = command["command"]
                if "hotline:lock:" in text and conversation_id in text:
                    locked.set()
    finally:
        await client.aclose()


async def test_turns_are_stored_in_postgresql_under_a_redis_lock(scaled_stack: Stack) -> None:
    settings = scaled_stack.settings
    assert settings.database_url and settings.redis_url
    conversation_id = f"pg-{uuid.uuid4().hex[:8]}"
    watching, locked = asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(
        _watch_lock_commands(settings.redis_url, conversation_id, watching, locked)
    )
    await watching.wait()
    async with aiohttp.ClientSession() as session:
        chat = await WebChat.open(session, settings.gateway_url, conversation_id)
        reply = await chat.say("你好")
        assert "12345" in WebChat.text_of(reply)
        await chat.say("谢谢")
    # Rasa took the conversation's lock in Redis (the command may reach MONITOR a little
    # after the reply; the wait ends as soon as it does).
    await asyncio.wait_for(locked.wait(), timeout=120)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher

    with psycopg2.connect(settings.database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT type_name, intent_name FROM events WHERE sender_id = %s ORDER BY id",
            (conversation_id,),
        )
        events = cursor.fetchall()
        cursor.execute(
            "SELECT role, text, data FROM transcript WHERE conversation_id = %s ORDER BY id",
            (conversation_id,),
        )
        transcript = cursor.fetchall()
    assert ("user", "greet") in events and ("user", "thank") in events
    citizen_turns = [row for row in transcript if row[0] == "citizen"]
    assert [row[1] for row in citizen_turns] == ["你好", "谢谢"]
    # The transcript keeps what Rasa understood, for the supervisor console.
    assert [row[2]["nlu"]["intent"] for row in citizen_turns] == ["greet", "thank"]
    # The actions run and the responses they uttered, so the console counts a fallback
    # only when the default reply was really given.
    assert citizen_turns[0][2]["nlu"]["actions"] == ["action_small_talk", "utter_greet"]


async def _start_second_rasa(settings: Settings) -> ManagedProcess:
    """Another Rasa replica on the same tracker store and lock store as the stack's own."""
    port = free_port()
    replica_settings = settings.with_overrides(rasa_port=port, rasa_url=f"http://127.0.0.1:{port}")
    replica = ManagedProcess(
        "rasa-2",
        rasa_server_command(
            replica_settings, ensure_model(replica_settings), write_endpoints(replica_settings)
        ),
        f"{replica_settings.rasa_url}/status?token={settings.rasa_token}",
        rasa_environment(replica_settings),
        settings.var_dir / "logs" / "rasa-2.log",
    )
    replica.start()
    while not replica.is_ready():
        assert replica.exited() is None, f"the second replica stopped; see {replica.log_path}"
        await asyncio.sleep(0.5)
    return replica


async def test_two_rasa_replicas_take_turns_in_one_conversation(scaled_stack: Stack) -> None:
    """Both replicas get a message of the same conversation at once, round after round:
    every turn is stored once, and each turn's actions finish before the next turn starts
    (the SQL tracker store appends by counting stored events, so an overlap loses a turn)."""
    settings = scaled_stack.settings
    replica = await _start_second_rasa(settings)
    conversation_id = f"race-{uuid.uuid4().hex[:8]}"
    urls = [settings.rasa_url, replica_url := replica.ready_url.split("/status")[0]]
    assert replica_url != settings.rasa_url
    headers = {"Authorization": f"Bearer {settings.rasa_token}"}
    rounds = 6
    try:
        async with aiohttp.ClientSession(headers=headers) as session:

            async def say(url: str, text: str) -> None:
                body = {"sender": conversation_id, "message": text}
                async with session.post(f"{url}{WEBHOOK_PATH}", json=body) as response:
                    assert response.status == 200

            for turn in range(rounds):
                await asyncio.gather(
                    say(urls[0], f"你好，第{turn}次"), say(urls[1], f"谢谢，第{turn}次")
                )
    finally:
        replica.stop()

    with psycopg2.connect(settings.database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT type_name, action_name, data FROM events WHERE sender_id = %s ORDER BY id",
            (conversation_id,),
        )
        events = cursor.fetchall()
    texts = [json.loads(data)["text"] for kind, _, data in events if kind == "user"]
    assert sorted(texts) == sorted(
        [f"你好，第{turn}次" for turn in range(rounds)]
        + [f"谢谢，第{turn}次" for turn in range(rounds)]
    )
    # Each user turn is followed by its own actions, ending with action_listen, before the
    # next user turn: (user, action…, action_listen)*.
    listening = True
    for kind, action, _ in events:
        if kind == "user":
            assert listening, "a turn started while the previous one was still running"
            listening = False
        elif kind == "action" and action == "action_listen":
            listening = True
    assert listening
