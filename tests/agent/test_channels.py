"""The agent's words on the citizen's own channel: WeChat, and web chat across replicas.

WeChat's API is the local fake of the WeChat tests (``tests/wechat/wechat_fakes.py``);
the replicas test runs two gateways on the real PostgreSQL and Redis, the citizen's page
on one and the agent's console on the other.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.conversation import CitizenTurn
from bot.gateway import keys
from tests.support.agent import HarnessFactory, eventually
from tests.wechat.wechat_fakes import FakeWeChatApi


async def test_agent_talks_to_a_wechat_citizen(
    start_gateway: HarnessFactory, aiohttp_server: Any
) -> None:
    api = FakeWeChatApi(app_id="wx" + uuid.uuid4().hex[:16], app_secret=uuid.uuid4().hex)
    server: TestServer = await aiohttp_server(api.app())
    api.url = str(server.make_url("")).rstrip("/")
    gateway = await start_gateway(
        wechat_token="tok" + uuid.uuid4().hex[:12],
        wechat_app_id=api.app_id,
        wechat_app_secret=api.app_secret,
        wechat_api_base=api.url,
    )
    openid = "o" + uuid.uuid4().hex[:27]
    cid = "wx:" + openid
    conversations = gateway.app[keys.CONVERSATIONS]
    agent = await gateway.agent("agent1")
    await agent.on_duty()

    queued = await conversations.handle_turn(CitizenTurn(cid, "wechat", "转人工"))
    assert queued.status == "handoff_waiting"
    status, _ = await agent.post(f"/api/v1/agent/conversations/{cid}/claim")
    assert status == 200
    [joined] = await api.wait_for_texts(openid, 1)
    assert joined == "人工客服话务员甲已接入，请问有什么可以帮您？"

    status, body = await agent.post(
        f"/api/v1/agent/conversations/{cid}/messages", {"text": "请问您反映的是哪个小区？"}
    )
    assert status == 200 and body["delivered"] is True
    texts = await api.wait_for_texts(openid, 2)
    assert texts[-1] == "【人工客服话务员甲】请问您反映的是哪个小区？"

    held = await conversations.handle_turn(CitizenTurn(cid, "wechat", "幸福花园"))
    assert held.status == "with_agent" and held.messages == ()

    api.reject_all_sends = True
    status, body = await agent.post(
        f"/api/v1/agent/conversations/{cid}/messages", {"text": "还在吗？"}
    )
    assert status == 200 and body["delivered"] is False  # the console says so
    rows = await gateway.app[keys.TRANSCRIPT].history(cid)
    delivered = [row["data"].get("delivered") for row in rows if row["role"] == "agent"]
    assert delivered == [True, False]


@pytest.mark.postgres
@pytest.mark.redis
async def test_citizen_and_agent_on_different_replicas(
    start_gateway: HarnessFactory, postgres_url: str, redis_url: str
) -> None:
    shared = {"database_url": postgres_url, "redis_url": redis_url}
    citizen_side = await start_gateway(**shared)
    agent_side = await start_gateway(**shared)
    agent = await agent_side.agent("agent1")
    await agent.on_duty()
    live = await agent.live()
    citizen = await citizen_side.citizen()
    cid = citizen.conversation_id

    assert (await citizen.say("转人工"))["status"] == "handoff_waiting"
    status, _ = await agent.post(f"/api/v1/agent/conversations/{cid}/claim")
    assert status == 200
    assert (await citizen.next_frame("handoff"))["state"] == "with_agent"
    await agent.post(f"/api/v1/agent/conversations/{cid}/messages", {"text": "您好，请讲。"})
    said = await citizen.next_frame("agent")
    assert said["messages"] == [{"text": "您好，请讲。"}]
    assert (await citizen.say("楼上漏水"))["status"] == "with_agent"

    async def agent_saw_it() -> bool:
        event: dict[str, Any] = json.loads((await live.receive(timeout=30)).data)
        return event.get("type") == "row" and event["row"]["text"] == "楼上漏水"

    await eventually(agent_saw_it)
    await agent.post(f"/api/v1/agent/conversations/{cid}/handback")
    assert (await citizen.next_frame("handoff"))["state"] == "bot"
    assert (await citizen.say("你好"))["status"] == "ok"
    await live.close()
