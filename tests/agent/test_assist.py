"""Agent assist on a chat and on a phone call: suggestions with citations, classification,
the draft work order submitted to the real work-order service, and the feedback record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.gateway import keys
from bot.handoff.feedback import Outcome
from tests.support.agent import Citizen, Harness, eventually, order_in_service


async def _claimed(gateway: Harness, *said: str) -> tuple[Any, Citizen]:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    for text in said:
        await citizen.say(text)
    await citizen.say("转人工")
    status, _ = await agent.post(f"/api/v1/agent/conversations/{citizen.conversation_id}/claim")
    assert status == 200
    await citizen.next_frame("handoff")
    return agent, citizen


async def test_chat_suggestions_cite_the_knowledge_base_and_feedback_is_recorded(
    assisted: Harness,
) -> None:
    agent, citizen = await _claimed(assisted, "我想问一下公积金提取需要带什么材料")
    cid = citizen.conversation_id
    status, view = await agent.post(f"/api/v1/agent/conversations/{cid}/assist")
    assert status == 200
    best = view["suggestions"][0]
    assert best["citation"]["entry_id"] == "kp:gjj-withdraw"
    assert "身份证" in best["text"] and best["citation"]["title"] == "住房公积金提取办理"
    assert view["classification"]["request_type"] == "咨询"
    # Asking again with nothing new said shows the same suggestions, logged once.
    assert (await agent.post(f"/api/v1/agent/conversations/{cid}/assist"))[1] == view

    edited = best["text"] + "如有疑问可以再联系我们。"
    status, body = await agent.post(
        f"/api/v1/agent/conversations/{cid}/messages",
        {"text": edited, "suggestion_id": best["id"]},
    )
    assert status == 200 and body["suggestion_outcome"] == "edited"
    assert (await citizen.next_frame("agent"))["messages"][0]["text"] == edited

    await citizen.say("另外路灯坏了也想反映一下")
    status, fresh = await agent.post(f"/api/v1/agent/conversations/{cid}/assist")
    light = next(s for s in fresh["suggestions"] if s["citation"]["entry_id"] == "kp:streetlight")
    status, body = await agent.post(
        f"/api/v1/agent/conversations/{cid}/messages",
        {"text": light["text"], "suggestion_id": light["id"]},
    )
    assert body["suggestion_outcome"] == "used"
    await agent.post(f"/api/v1/agent/conversations/{cid}/close", {"wrap_up": "answered"})

    outcomes = await assisted.app[keys.HANDOFF].service.suggestions.outcomes(cid)
    by_id = {row["id"]: row for row in outcomes}
    assert by_id[best["id"]]["outcome"] == Outcome.EDITED
    assert 0.5 < by_id[best["id"]]["similarity"] < 1.0
    assert by_id[light["id"]]["outcome"] == Outcome.USED
    others = [row for row in outcomes if row["id"] not in (best["id"], light["id"])]
    assert others and all(row["outcome"] == Outcome.IGNORED for row in others)


async def test_a_suggestion_of_another_conversation_is_not_credited(assisted: Harness) -> None:
    agent, citizen = await _claimed(assisted, "公积金提取怎么办理")
    status, view = await agent.post(f"/api/v1/agent/conversations/{citizen.conversation_id}/assist")
    other = await assisted.citizen()
    await other.say("转人工")
    await agent.post(f"/api/v1/agent/conversations/{other.conversation_id}/claim")
    status, body = await agent.post(
        f"/api/v1/agent/conversations/{other.conversation_id}/messages",
        {"text": "您好", "suggestion_id": view["suggestions"][0]["id"]},
    )
    assert status == 200 and body["suggestion_outcome"] is None


async def test_draft_work_order_from_the_chat_is_submitted_to_the_service(
    assisted: Harness, workorder_service: tuple[str, str], token_secret: str
) -> None:
    agent, citizen = await _claimed(
        assisted,
        "我家在历下区和平路小区3号楼，楼下工地夜间施工噪音太大，我要投诉",
        "我姓王，电话13805311234",
    )
    cid = citizen.conversation_id
    status, view = await agent.post(f"/api/v1/agent/conversations/{cid}/assist")
    draft = view["draft"]
    assert draft["phone"] == "13805311234" and draft["name"] == "王"
    assert draft["address"] == "历下区和平路小区3号楼"
    assert draft["request_type"] == "投诉" and draft["department"]
    assert "夜间施工" in draft["content"] and draft["reason"]

    edited = {**draft, "content": draft["content"] + "（已持续一周）"}
    status, accepted = await agent.post(f"/api/v1/agent/conversations/{cid}/workorder", edited)
    assert status == 200, accepted
    assert accepted["order_no"].startswith("GD") and accepted["order_no"] in accepted["message"]
    order = await order_in_service(workorder_service, token_secret, accepted["order_no"])
    assert order["content"].endswith("（已持续一周）") and order["request_type"] == "投诉"
    rows = await assisted.app[keys.HANDOFF].service.transcript.history(cid)
    assert any(
        row["data"] and row["data"].get("workorder_no") == accepted["order_no"] for row in rows
    )


async def test_a_draft_without_a_phone_is_refused_politely(assisted: Harness) -> None:
    agent, citizen = await _claimed(assisted, "路灯坏了")
    status, body = await agent.post(
        f"/api/v1/agent/conversations/{citizen.conversation_id}/workorder",
        {"content": "路灯坏了", "phone": ""},
    )
    assert status == 400 and "联系电话" in body["message"]


async def test_asr_streamed_call_gets_suggestions_and_a_work_order(
    assisted: Harness, workorder_service: tuple[str, str], token_secret: str
) -> None:
    agent = await assisted.agent("agent1")
    live = await agent.live()
    bearer = {"Authorization": "Bearer asr-secret-token"}
    status, body = await agent.post(
        "/api/v1/asr/calls",
        {"call_id": "pbx-20261129-001", "agent": "agent1", "caller": "13912345678"},
        csrf=False,
        **bearer,
    )
    assert status == 201, body
    cid = body["call"]["conversation_id"]
    path = "/api/v1/asr/calls/pbx-20261129-001/segments"
    await agent.post(
        path, {"speaker": "caller", "text": "你好我想", "final": False}, False, **bearer
    )
    for speaker, text in (
        ("agent", "您好，12345热线，请讲。"),
        ("caller", "我想投诉，历城区幸福花园5号楼旁边的路灯坏了一个星期了"),
    ):
        status, _ = await agent.post(path, {"speaker": speaker, "text": text}, False, **bearer)
        assert status == 200

    seen: list[dict[str, Any]] = []

    async def console_got_the_call() -> bool:
        message = await live.receive(timeout=30)
        seen.append(json.loads(message.data))
        kinds = {event["type"] for event in seen}
        rows = [e["row"]["text"] for e in seen if e["type"] == "row"]
        return {"call", "partial"} <= kinds and any("路灯" in text for text in rows)

    await eventually(console_got_the_call)
    status, view = await agent.post(f"/api/v1/agent/conversations/{cid}/assist")
    assert status == 200
    assert view["suggestions"][0]["citation"]["entry_id"] == "kp:streetlight"
    draft = view["draft"]
    assert draft["phone"] == "13912345678"  # from the call, not said aloud
    assert "幸福花园5号楼" in draft["address"] and draft["request_type"] == "投诉"
    assert "12345热线" not in draft["content"]  # the agent's words are not the matter

    status, accepted = await agent.post(f"/api/v1/agent/conversations/{cid}/workorder", draft)
    assert status == 200, accepted
    order = await order_in_service(workorder_service, token_secret, accepted["order_no"])
    assert "路灯" in order["content"]
    status, _ = await agent.post("/api/v1/asr/calls/pbx-20261129-001/end", {}, False, **bearer)
    assert status == 200
    status, body = await agent.post(path, {"speaker": "caller", "text": "喂"}, False, **bearer)
    assert status == 409 and body["error"] == "call_ended"
    await live.close()


async def test_agent_typed_call(assisted: Harness) -> None:
    agent = await assisted.agent("agent1")
    status, body = await agent.post("/api/v1/agent/calls", {"caller": "0531-86081234"})
    assert status == 200
    call = body["call"]
    status, _ = await agent.post(
        f"/api/v1/agent/calls/{call['call_id']}/segments",
        {"speaker": "caller", "text": "请问公积金提取要带什么"},
    )
    assert status == 200
    status, view = await agent.post(f"/api/v1/agent/conversations/{call['conversation_id']}/assist")
    assert view["suggestions"][0]["citation"]["entry_id"] == "kp:gjj-withdraw"
    other = await assisted.agent("agent2")
    status, _ = await other.post(f"/api/v1/agent/conversations/{call['conversation_id']}/assist")
    assert status == 404  # someone else's call does not exist for them
    status, _ = await other.get(f"/api/v1/agent/conversations/{call['conversation_id']}")
    assert status == 403


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), ("Bearer wrong", 401), ("asr-secret-token", 401)]
)
async def test_asr_api_needs_its_token(assisted: Harness, token: str | None, status: int) -> None:
    headers = {"Authorization": token} if token else {}
    agent = await assisted.agent("agent1")
    got, body = await agent.post(
        "/api/v1/asr/calls", {"call_id": "x1", "agent": "agent1"}, False, **headers
    )
    assert got == status and body["error"] == "unauthorized"


async def test_asr_api_is_off_without_a_token(gateway: Harness) -> None:
    agent = await gateway.agent("agent1")
    status, body = await agent.post(
        "/api/v1/asr/calls",
        {"call_id": "x1", "agent": "agent1"},
        False,
        Authorization="Bearer anything",
    )
    assert status == 404 and body["error"] == "asr_disabled"


def test_suggestions_are_the_relevant_ones_most_likely_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Search's confidences set here (the small index has no embedding model to give
    them): below the threshold a hit the question does not name is dropped, the rest are
    sorted by confidence, whatever order search returned them in."""
    from dataclasses import replace

    from bot.gateway.handoff.suggestions import suggestions_from
    from tests.support.agent import POINTS, small_knowledge_base

    kb = small_knowledge_base(POINTS)
    search = kb.search
    confidence = {"kp:gjj-withdraw": 0.45, "kp:noise-night": 0.9, "kp:streetlight": 0.1}

    def scored(query: str, **options: Any) -> Any:
        result = search(query, **options)
        return replace(
            result, hits=[replace(h, confidence=confidence[h.entry.id]) for h in result.hits]
        )

    monkeypatch.setattr(kb, "search", scored)
    question = "作业证明和身份证，城市道路"  # words of all three, no keyword or title
    assert {h.entry.id for h in search(question, top_k=9).hits} == set(confidence)
    shown = suggestions_from(kb, question, 3, min_score=0.4)
    assert [s.citation["title"] for s in shown if s.citation] == [
        "夜间施工噪声投诉",
        "住房公积金提取办理",
    ]
    named = suggestions_from(kb, "路灯坏了", 3, min_score=0.4)  # named: kept at 0.1
    assert [s.citation["title"] for s in named if s.citation] == ["路灯不亮报修"]
