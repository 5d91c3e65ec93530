"""A citizen chats in Chinese through the gateway with the real Rasa and action servers."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from bot.launcher import Stack
from tests.e2e.chat import WebChat

pytestmark = pytest.mark.e2e


async def _chat(stack: Stack) -> tuple[aiohttp.ClientSession, WebChat]:
    session = aiohttp.ClientSession()
    chat = await WebChat.open(session, stack.settings.gateway_url, f"e2e-{uuid.uuid4().hex[:8]}")
    return session, chat


async def test_greeting_and_complaint(default_stack: Stack) -> None:
    session, chat = await _chat(default_stack)
    async with session:
        greeting = await chat.say("你好")
        assert greeting["status"] == "ok"
        assert "12345" in WebChat.text_of(greeting)
        complaint = await chat.say("我要投诉，小区楼下烧烤店油烟太大，天天熏得没法开窗")
        text = WebChat.text_of(complaint)
        assert any(word in text for word in ("地点", "工单", "电话")), text


async def test_emergency_diversion(default_stack: Stack) -> None:
    session, chat = await _chat(default_stack)
    async with session:
        fire = await chat.say("我家楼下着火了，好多烟")
        assert fire["status"] == "emergency"
        assert "119" in WebChat.text_of(fire)
        # Not caught by the gateway's rules: Rasa's emergency intent and action answer it.
        help_now = await chat.say("救命啊，快派人来，出大事了")
        text = WebChat.text_of(help_now)
        assert "110" in text and "120" in text, text


async def test_out_of_scope_guidance(default_stack: Stack) -> None:
    session, chat = await _chat(default_stack)
    async with session:
        reply = await chat.say("我跟公司的劳动仲裁已经开庭了，你们能帮我催催仲裁委吗")
        assert "仲裁委员会" in WebChat.text_of(reply)


async def test_fallback_on_gibberish(default_stack: Stack) -> None:
    session, chat = await _chat(default_stack)
    async with session:
        reply = await chat.say("咕噜咕噜阿巴阿巴 zxqv")
        text = WebChat.text_of(reply)
        assert "没有完全理解" in text or "换个说法" in text, text


async def test_bad_input_gets_polite_replies_and_the_conversation_goes_on(
    default_stack: Stack,
) -> None:
    session, chat = await _chat(default_stack)
    async with session:
        assert (await chat.say(""))["status"] == "empty"
        assert (await chat.say("   \t "))["status"] == "empty"
        long = await chat.say("噪" * 20_000)
        assert long["status"] == "too_long" and "2000" in WebChat.text_of(long)
        assert (await chat.say("😀😀"))["status"] == "symbols_only"
        controls = await chat.say("你\x00好\x07")
        assert controls["status"] == "ok" and "12345" in WebChat.text_of(controls)
        goodbye = await chat.say("谢谢，再见")
        assert goodbye["status"] == "ok" and WebChat.text_of(goodbye)


async def test_rest_channel_returns_buttons_and_tracker_is_kept(default_stack: Stack) -> None:
    settings = default_stack.settings
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{settings.gateway_url}/api/v1/messages", json={"sender": sender, "message": "您好"}
        ) as response:
            body = await response.json()
        assert response.status == 200 and body["conversation_id"] == sender
        assert "12345" in body["messages"][0]["text"]
        async with session.get(
            f"{settings.rasa_url}/conversations/{sender}/tracker",
            params={"token": settings.rasa_token},
        ) as response:
            tracker = await response.json()
        assert tracker["latest_message"]["intent"]["name"] == "greet"
        async with session.post(
            f"{settings.rasa_url}/webhooks/hotline/webhook",
            json={"sender": sender, "message": "你好"},
        ) as response:
            assert response.status == 401  # Rasa only answers the gateway's token
    assert (settings.var_dir / "rasa_tracker.db").exists()


async def test_every_process_reports_ready(default_stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        for process in default_stack.processes:
            async with session.get(process.ready_url) as response:
                assert response.status == 200, process.name
