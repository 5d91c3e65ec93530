"""Scaled out: Rasa's SQL tracker store on PostgreSQL and its Redis lock store, for real."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import aiohttp
import psycopg2
import pytest
from redis.asyncio import Redis

from bot.launcher import Stack
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
