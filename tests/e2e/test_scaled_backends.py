"""Scaled out: Rasa's SQL tracker store on PostgreSQL and its Redis lock store, for real."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import psycopg2
import pytest
from redis.asyncio import Redis

from bot.launcher import Stack
from tests.e2e.chat import WebChat

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


async def _watch_lock_commands(redis_url: str, seen: list[str], stop: asyncio.Event) -> None:
    client = Redis.from_url(redis_url)
    try:
        async with client.monitor() as monitor:
            listener = monitor.listen().__aiter__()
            while not stop.is_set():
                try:
                    command = await asyncio.wait_for(listener.__anext__(), timeout=0.5)
                except TimeoutError:
                    continue
                if "hotline:lock:" in command["command"]:
                    seen.append(command["command"])
    finally:
        await client.aclose()


async def test_turns_are_stored_in_postgresql_under_a_redis_lock(scaled_stack: Stack) -> None:
    settings = scaled_stack.settings
    assert settings.database_url and settings.redis_url
    seen: list[str] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_lock_commands(settings.redis_url, seen, stop))
    await asyncio.sleep(0.3)
    conversation_id = f"pg-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        chat = await WebChat.open(session, settings.gateway_url, conversation_id)
        reply = await chat.say("你好")
        assert "12345" in WebChat.text_of(reply)
        await chat.say("谢谢")
    stop.set()
    await watcher
    assert any(conversation_id in command for command in seen), seen[:5]

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
