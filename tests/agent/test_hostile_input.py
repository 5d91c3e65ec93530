"""Hostile input against the gateway: deeply nested JSON on every endpoint, lone surrogates
and bidirectional overrides in every channel, and one client posing as many senders."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import aiohttp
import pytest

from bot.gateway import keys
from bot.jsonbody import MAX_DEPTH
from tests.agent.fakes import FakeRasa
from tests.support.agent import POINTS, Harness, HarnessFactory, small_knowledge_base

DEEP = "[" * 30000 + "]" * 30000
ASSIST = {"Authorization": "Bearer assist-secret-token"}
ASR = {"Authorization": "Bearer asr-secret-token"}
# JSON text as a client may send it: "\ud800" is a lone surrogate once decoded.
SURROGATE = "\\ud800"
OVERRIDE = "\\u202e"
PARAMS = {"conversation_id": "0123456789abcdef", "note_id": "1", "call_id": "c1"}


@pytest.fixture
async def gateway(start_gateway: HarnessFactory) -> Harness:
    return await start_gateway(
        knowledge=small_knowledge_base(POINTS),
        assist_api_token="assist-secret-token",
        asr_api_token="asr-secret-token",
    )


async def _post_raw(
    http: aiohttp.ClientSession, url: str, body: str, **headers: str
) -> tuple[int, Any]:
    sent = {"Content-Type": "application/json", "Accept": "application/json", **headers}
    async with http.post(url, data=body.encode("utf-8"), headers=sent) as response:
        text = await response.text()
        return response.status, json.loads(text) if text.startswith("{") else text


def _post_paths(gateway: Harness) -> list[str]:
    """Every POST route of the gateway, the logouts last (they end the session)."""
    paths = {
        re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: PARAMS.get(m[1], "1"), route.resource.canonical)
        for route in gateway.app.router.routes()
        if route.method == "POST" and route.resource is not None
    }
    return sorted(paths, key=lambda path: ("logout" in path, path))


async def test_deeply_nested_json_is_refused_on_every_endpoint(
    gateway: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = await gateway.agent("super1")
    headers = {"X-CSRF-Token": supervisor.csrf}
    answers = {}
    with caplog.at_level(logging.INFO):
        for path in _post_paths(gateway):
            token = ASSIST if "/assist/" in path else ASR if "/asr/" in path else {}
            answers[path] = await _post_raw(
                supervisor.http, gateway.base + path, DEEP, **headers, **token
            )
    assert {path: status for path, (status, _) in answers.items() if status >= 500} == {}
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
    for path in (
        "/api/v1/messages",
        "/api/v1/auth/login",
        "/api/v1/assist/suggest",
        "/api/v1/agent/duty",
        "/api/v1/agent/calls",
        "/api/v1/asr/calls",
        f"/api/v1/agent/conversations/{PARAMS['conversation_id']}/messages",
    ):
        status, body = answers[path]
        assert (status, body["error"]) == (400, "invalid_json"), path
        assert f"{MAX_DEPTH} 层" in body["message"], path


async def test_a_body_just_within_the_depth_limit_is_read(gateway: Harness) -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    async with aiohttp.ClientSession() as http:
        body = '{"sender": "depth-ok", "message": "路灯坏了", "extra": ' + nested + "}"
        assert (await _post_raw(http, gateway.base + "/api/v1/messages", body))[0] == 200


async def test_rest_turns_with_surrogates_and_overrides_are_recorded_clean(
    gateway: Harness, fake_rasa: FakeRasa
) -> None:
    body = f'{{"sender": "rest-odd", "message": "经十路{SURROGATE}路灯{OVERRIDE}坏了"}}'
    async with aiohttp.ClientSession() as http:
        status, answer = await _post_raw(http, gateway.base + "/api/v1/messages", body)
    assert status == 200 and answer["messages"], answer
    rows = await gateway.app[keys.TRANSCRIPT].history("rest-odd")
    assert rows[0]["role"] == "citizen" and rows[0]["text"] == "经十路路灯坏了"
    assert fake_rasa.texts("rest-odd") == ["经十路路灯坏了"]


async def test_login_and_assist_with_surrogates_answer_normally(gateway: Harness) -> None:
    async with aiohttp.ClientSession() as http:
        login = f'{{"username": "super1{SURROGATE}", "password": "x{SURROGATE}y-password"}}'
        status, body = await _post_raw(http, gateway.base + "/api/v1/auth/login", login)
        assert (status, body["error"]) == (401, "login_failed")
        ask = f'{{"text": "公积金{SURROGATE}怎么提取"}}'
        status, body = await _post_raw(http, gateway.base + "/api/v1/assist/suggest", ask, **ASSIST)
        assert status == 200 and body["suggestions"], body


async def test_web_chat_survives_surrogates_deep_frames_and_failing_turns(
    gateway: Harness, fake_rasa: FakeRasa
) -> None:
    citizen = await gateway.citizen()
    await citizen.ws.send_str(f'{{"type": "message", "text": "你好{SURROGATE}{OVERRIDE}"}}')
    assert (await citizen.next_frame("bot"))["messages"]
    await citizen.ws.send_str(DEEP)
    assert "格式" in (await citizen.next_frame("error"))["message"]
    assert (await citizen.say("路灯坏了"))["messages"]  # the same socket goes on
    assert fake_rasa.texts(citizen.conversation_id) == ["你好", "路灯坏了"]

    async def broken(turn: Any) -> Any:
        raise RuntimeError("a defect in the turn service")

    gateway.app[keys.CONVERSATIONS].handle_turn = broken  # type: ignore[method-assign]
    await citizen.ws.send_str(json.dumps({"type": "message", "text": "还在吗"}))
    closing = await citizen.ws.receive()
    assert closing.type == aiohttp.WSMsgType.CLOSE, closing  # not an HTTP 500 on the socket
    assert citizen.ws.close_code == aiohttp.WSCloseCode.INTERNAL_ERROR


async def test_a_login_form_in_another_encoding_is_refused_clearly(gateway: Harness) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(gateway.base + "/login") as page:
            found = re.search(r'name="_csrf" value="([^"]+)"', await page.text())
        assert found is not None
        form = b"username=super1&password=\xed\xa0\x80&_csrf=" + found[1].encode()
        async with http.post(
            gateway.base + "/login",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as response:
            assert response.status == 400
            assert (await response.json())["error"] == "invalid_encoding"


async def _say_as(http: aiohttp.ClientSession, base: str, sender: str, **headers: str) -> str:
    body = json.dumps({"sender": sender, "message": "路灯坏了"})
    status, answer = await _post_raw(http, base + "/api/v1/messages", body, **headers)
    assert status == 200, answer
    return str(answer["status"])


async def test_one_address_under_thirty_sender_ids_is_limited(gateway: Harness) -> None:
    async with aiohttp.ClientSession() as http:
        statuses = [await _say_as(http, gateway.base, f"sender-{i}") for i in range(30)]
    limit = gateway.app[keys.SETTINGS].rate_limit_address_messages
    assert statuses[:limit] == ["ok"] * limit
    assert set(statuses[limit:]) == {"rate_limited"}


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    start_gateway: HarnessFactory,
) -> None:
    gateway = await start_gateway(
        trusted_proxy_header="X-Forwarded-For", rate_limit_address_messages=3
    )
    async with aiohttp.ClientSession() as http:
        statuses = [
            await _say_as(http, gateway.base, f"s{i}", **{"X-Forwarded-For": f"203.0.113.{i % 5}"})
            for i in range(15)
        ]
        assert set(statuses) == {"ok"}
        forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.0"}  # only the last entry counts
        assert await _say_as(http, gateway.base, "s-forged", **forged) == "rate_limited"
