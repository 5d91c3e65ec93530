"""The handoff end to end through the gateway: web chat ↔ queue ↔ agent ↔ bot again.

The gateway runs in-process with Rasa replaced by the local fake in ``fakes.py`` (see its
docstring); what is checked is the gateway's own behaviour: who answers, what the citizen
and the agent see, and what Rasa's tracker and the transcript record.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.clock import BEIJING
from bot.gateway import keys
from bot.handoff.texts import CANCEL_PAYLOAD, HUMAN_PAYLOAD, NOTE_PAYLOAD, WORK_ORDER_PAYLOAD
from tests.agent.fakes import FakeRasa
from tests.support.agent import (
    ALWAYS_OPEN,
    Harness,
    HarnessFactory,
    eventually,
    write_handoff_config,
)


async def _rows(gateway: Harness, conversation_id: str) -> list[dict]:  # type: ignore[type-arg]
    return await gateway.app[keys.TRANSCRIPT].history(conversation_id)


async def _handoff_states(gateway: Harness, conversation_id: str) -> list[str]:
    return [
        row["data"]["handoff"]["state"]
        for row in await _rows(gateway, conversation_id)
        if row["role"] == "system" and "handoff" in (row["data"] or {})
    ]


async def test_full_handoff_and_back_to_the_bot(gateway: Harness, fake_rasa: FakeRasa) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    live = await agent.live()
    citizen = await gateway.citizen()
    cid = citizen.conversation_id

    assert "噪音" in (await citizen.say("小区楼下烧烤店噪音太大"))["messages"][0]["text"]
    queued = await citizen.say("转人工")
    assert queued["status"] == "handoff_waiting"
    text = queued["messages"][0]["text"]
    assert "正在为您转接人工客服" in text and "预计" in text
    assert [b["payload"] for b in queued["messages"][0]["buttons"]] == [CANCEL_PAYLOAD]
    assert fake_rasa.events_for(cid) == ["pause"]

    status, state = await agent.get("/api/v1/agent/state")
    assert status == 200
    [waiting] = state["queue"]
    assert waiting["conversation_id"] == cid and waiting["position"] == 1
    assert "噪音" in waiting["summary"] and "市民要求转人工" in waiting["summary"]

    # While waiting the citizen's words go to the queue, not to Rasa.
    sent_to_rasa = len(fake_rasa.received)
    reply = await citizen.say("我家在历下区和平路小区3号楼，电话13805311234")
    assert reply["status"] == "waiting" and "排在第1位" in reply["messages"][0]["text"]
    assert len(fake_rasa.received) == sent_to_rasa

    status, body = await agent.post(f"/api/v1/agent/conversations/{cid}/claim")
    assert status == 200 and body["handoff"]["state"] == "with_agent"
    joined = await citizen.next_frame("handoff")
    assert joined["state"] == "with_agent" and "话务员甲" in joined["text"]

    status, body = await agent.post(
        f"/api/v1/agent/conversations/{cid}/messages",
        {"text": "您好，我是话务员甲，马上为您登记。"},
    )
    assert status == 200 and body["delivered"] is True
    said = await citizen.next_frame("agent")
    assert said == {
        "type": "agent",
        "agent": "话务员甲",
        "messages": [{"text": "您好，我是话务员甲，马上为您登记。"}],
    }

    held = await citizen.say("好的谢谢")
    assert held == {"type": "bot", "status": "with_agent", "messages": []}
    assert len(fake_rasa.received) == sent_to_rasa  # the bot never saw it

    async def agent_saw_citizen() -> bool:
        message = await live.receive(timeout=30)
        event: dict[str, Any] = json.loads(message.data)
        return event.get("type") == "row" and event["row"]["text"] == "好的谢谢"

    await eventually(agent_saw_citizen)

    status, body = await agent.post(f"/api/v1/agent/conversations/{cid}/handback")
    assert status == 200 and body["handoff"]["state"] == "bot"
    left = await citizen.next_frame("handoff")
    assert left["state"] == "bot" and "智能助手" in left["text"]
    assert fake_rasa.events_for(cid) == ["pause", "resume"]

    again = await citizen.say("你好")
    assert again["status"] == "ok" and again["messages"][0]["text"].startswith("您好")
    assert await _handoff_states(gateway, cid) == ["waiting", "with_agent", "bot"]
    roles = [row["role"] for row in await _rows(gateway, cid)]
    assert roles.count("agent") == 1 and roles[-1] == "bot"
    await live.close()


async def test_close_requires_a_wrap_up_category_and_resumes_rasa(
    gateway: Harness, fake_rasa: FakeRasa
) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    cid = citizen.conversation_id
    await citizen.say("转人工")
    assert (await agent.post(f"/api/v1/agent/conversations/{cid}/claim"))[0] == 200
    assert (await citizen.next_frame("handoff"))["state"] == "with_agent"
    stale = await citizen.say(CANCEL_PAYLOAD)  # the queue's button, clicked after the claim
    assert (
        stale["status"] == "with_agent" and "人工客服正在为您服务" in stale["messages"][0]["text"]
    )

    status, body = await agent.post(f"/api/v1/agent/conversations/{cid}/close", {"wrap_up": "x"})
    assert status == 400 and body["error"] == "invalid_wrap_up"
    status, body = await agent.post(
        f"/api/v1/agent/conversations/{cid}/close", {"wrap_up": "answered", "note": "已解答"}
    )
    assert status == 200 and body["handoff"]["state"] == "closed"
    assert "结束" in (await citizen.next_frame("handoff"))["text"]
    assert fake_rasa.events_for(cid) == ["pause", "resume"]
    episodes = await gateway.app[keys.HANDOFF].service.store.episodes(cid)
    assert episodes[-1]["outcome"] == "closed" and episodes[-1]["wrap_up"] == "answered"
    # A closed conversation is the bot's again, and may ask for a human again.
    assert (await citizen.say("你好"))["status"] == "ok"
    assert (await citizen.say("转人工"))["status"] == "handoff_waiting"


async def test_the_bot_offers_a_human_after_two_misunderstandings(
    gateway: Harness, fake_rasa: FakeRasa
) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    first = await citizen.say("嗯那个啥")
    assert first["status"] == "ok" and "没有完全理解" in first["messages"][0]["text"]
    second = await citizen.say("就是那个事儿")
    assert second["status"] == "handoff_offered"
    [offer] = second["messages"]
    assert "转接人工客服" in offer["text"]
    assert offer["buttons"][0]["payload"] == HUMAN_PAYLOAD
    queued = await citizen.say(HUMAN_PAYLOAD)
    assert queued["status"] == "handoff_waiting"
    _status, state = await agent.get("/api/v1/agent/state")
    assert "智能助手多次未能理解" in state["queue"][0]["summary"]


async def test_a_successful_turn_resets_the_misunderstanding_count(gateway: Harness) -> None:
    citizen = await gateway.citizen()
    await citizen.say("嗯那个啥")
    await citizen.say("你好")
    assert (await citizen.say("就是那个事儿"))["status"] == "ok"


async def test_citizen_can_cancel_the_queue(gateway: Harness, fake_rasa: FakeRasa) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    await citizen.say("转人工")
    cancelled = await citizen.say(CANCEL_PAYLOAD)
    assert cancelled["status"] == "handoff_cancelled"
    assert fake_rasa.events_for(citizen.conversation_id) == ["pause", "resume"]
    assert (await agent.get("/api/v1/agent/state"))[1]["queue"] == []
    assert (await citizen.say("你好"))["status"] == "ok"


async def test_legacy_domain_reply_to_ask_human_is_replaced_by_the_queue(
    gateway: Harness, fake_rasa: FakeRasa
) -> None:
    fake_rasa.legacy_handoff = True
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    queued = await citizen.say("转人工")
    assert queued["status"] == "handoff_waiting"
    assert all("12345热线电话" not in m["text"] for m in queued["messages"])


async def test_nobody_on_duty_offers_a_message_or_a_work_order(gateway: Harness) -> None:
    citizen = await gateway.citizen()
    reply = await citizen.say("转人工")
    assert reply["status"] == "handoff_unavailable"
    [message] = reply["messages"]
    assert "暂时没有可以接待的在线人工客服" in message["text"]
    assert [b["title"] for b in message["buttons"]] == ["留言", "登记工单"]


async def test_leaving_a_message_and_the_agents_reply(gateway: Harness) -> None:
    citizen = await gateway.citizen()
    await citizen.say("转人工")
    prompt = await citizen.say(NOTE_PAYLOAD)
    assert prompt["status"] == "note_prompt"
    saved = await citizen.say("路灯坏了一周了，在泉城路附近，电话13805311234")
    assert saved["status"] == "note_left" and "留言编号" in saved["messages"][0]["text"]

    agent = await gateway.agent("agent2")
    status, state = await agent.get("/api/v1/agent/state")
    [note] = state["notes"]
    assert note["text"].startswith("路灯坏了")
    status, body = await agent.post(
        f"/api/v1/agent/notes/{note['id']}/reply", {"text": "已转城管部门，请留意回访电话。"}
    )
    assert status == 200 and body["delivered"] is True
    assert (await citizen.next_frame("agent"))["messages"][0]["text"].startswith("已转城管")
    status, body = await agent.post(f"/api/v1/agent/notes/{note['id']}/reply", {"text": "再回复"})
    assert status == 409 and body["error"] == "already_answered"
    assert (await agent.get("/api/v1/agent/state"))[1]["notes"] == []


async def test_two_agents_racing_for_one_conversation(gateway: Harness) -> None:
    first, second = await gateway.agent("agent1"), await gateway.agent("agent2")
    await first.on_duty()
    await second.on_duty()
    citizen = await gateway.citizen()
    await citizen.say("转人工")
    path = f"/api/v1/agent/conversations/{citizen.conversation_id}/claim"
    results = await asyncio.gather(first.post(path), second.post(path))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409]
    loser = next(body for status, body in results if status == 409)
    assert loser["error"] == "invalid_state"
    assert await _handoff_states(gateway, citizen.conversation_id) == ["waiting", "with_agent"]


async def test_transfer_to_a_colleague(gateway: Harness) -> None:
    first, second = await gateway.agent("agent1"), await gateway.agent("agent2")
    await first.on_duty()
    citizen = await gateway.citizen()
    cid = citizen.conversation_id
    await citizen.say("转人工")
    await first.post(f"/api/v1/agent/conversations/{cid}/claim")
    assert "话务员甲" in (await citizen.next_frame("handoff"))["text"]
    status, body = await first.post(
        f"/api/v1/agent/conversations/{cid}/transfer", {"to": second.user_id}
    )
    assert status == 409 and body["error"] == "colleague_offline"
    await second.on_duty()
    status, body = await first.post(
        f"/api/v1/agent/conversations/{cid}/transfer", {"to": second.user_id}
    )
    assert status == 200 and body["handoff"]["agent_name"] == "话务员乙"
    assert "话务员乙" in (await citizen.next_frame("handoff"))["text"]
    # The first agent no longer holds it; the second one does.
    status, _ = await first.post(f"/api/v1/agent/conversations/{cid}/messages", {"text": "在吗"})
    assert status == 403
    status, _ = await second.post(f"/api/v1/agent/conversations/{cid}/messages", {"text": "您好"})
    assert status == 200
    status, body = await second.post(f"/api/v1/agent/conversations/{cid}/transfer", {"to": "queue"})
    assert status == 200 and body["handoff"]["state"] == "waiting"


async def test_a_missed_resume_is_retried_before_the_bot_answers(
    gateway: Harness, fake_rasa: FakeRasa
) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    cid = citizen.conversation_id
    await citizen.say("转人工")
    await agent.post(f"/api/v1/agent/conversations/{cid}/claim")
    fake_rasa.fail_events = 1
    status, _ = await agent.post(f"/api/v1/agent/conversations/{cid}/handback")
    assert status == 200
    assert cid in fake_rasa.paused  # Rasa missed the resume
    reply = await citizen.say("你好")
    assert reply["status"] == "ok" and reply["messages"], "the bot must answer again"
    assert fake_rasa.events_for(cid) == ["pause", "resume"]


async def test_reconnecting_page_gets_what_the_agent_sent_meanwhile(gateway: Harness) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    cid = citizen.conversation_id
    await citizen.say("转人工")
    await citizen.ws.close()
    await agent.post(f"/api/v1/agent/conversations/{cid}/claim")
    status, _body = await agent.post(
        f"/api/v1/agent/conversations/{cid}/messages", {"text": "请问还在吗？"}
    )
    assert status == 200
    back = await gateway.citizen(cid)
    assert "已接入" in (await back.next_frame("handoff"))["text"]
    assert (await back.next_frame("agent"))["messages"][0]["text"] == "请问还在吗？"
    again = await gateway.citizen(cid)  # nothing is replayed twice
    status_frame = await again.next_frame("handoff")
    assert status_frame["text"] == "" and status_frame["state"] == "with_agent"
    try:
        extra = await again.next_frame("agent", timeout_s=0.3)
    except (AssertionError, TimeoutError, aiohttp.ClientError):
        extra = None
    assert extra is None


async def test_outside_service_hours_the_citizen_is_told_when_humans_are_back(
    start_gateway: HarnessFactory, tmp_path: Path
) -> None:
    today = datetime.now(BEIJING).date()
    config = write_handoff_config(
        tmp_path / "closed-today.yml", hours=ALWAYS_OPEN, closed_dates=[today.isoformat()]
    )
    gateway = await start_gateway(handoff_config=config)
    agent = await gateway.agent("agent1")
    await agent.on_duty()  # on duty, but the online service is closed today
    citizen = await gateway.citizen()
    reply = await citizen.say("转人工")
    assert reply["status"] == "handoff_unavailable"
    [message] = reply["messages"]
    tomorrow = today + timedelta(days=1)
    assert "现在不是在线人工服务时间" in message["text"]
    assert f"下次人工服务时间为{tomorrow.month}月{tomorrow.day}日 00:00起" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [NOTE_PAYLOAD, WORK_ORDER_PAYLOAD]
    rows = await _rows(gateway, citizen.conversation_id)
    [event] = [row["data"]["handoff"] for row in rows if row["role"] == "system"]
    assert event == {"event": "unavailable", "state": "bot", "reason": "after_hours"}
    assert (await agent.get("/api/v1/agent/state"))[1]["service_open"] is False


async def test_choosing_a_work_order_while_queued_leaves_the_queue(
    gateway: Harness, fake_rasa: FakeRasa
) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    await citizen.say("转人工")
    reply = await citizen.say(WORK_ORDER_PAYLOAD)
    assert fake_rasa.texts(citizen.conversation_id)[-1] == WORK_ORDER_PAYLOAD  # Rasa has it
    assert reply["status"] == "ok"
    assert fake_rasa.events_for(citizen.conversation_id) == ["pause", "resume"]
    assert (await agent.get("/api/v1/agent/state"))[1]["queue"] == []
