"""The gateway's own behaviour when Rasa cannot be reached: nothing crashes, nothing is lost.

Rasa is pointed at a closed port on purpose; the end-to-end tests cover the real Rasa.
"""

from __future__ import annotations

import json
import socket

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.exc import OperationalError

from bot.conversation.service import UNAVAILABLE_REPLY
from bot.gateway import keys
from bot.gateway.app import create_app
from bot.gateway.channels.webchat import STORAGE_RETRY_MESSAGE
from bot.gateway.pages import CONTENT_SECURITY_POLICY
from bot.settings import Settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def client(aiohttp_client, settings: Settings) -> TestClient:  # type: ignore[no-untyped-def]
    offline = settings.with_overrides(
        rasa_url=f"http://127.0.0.1:{_closed_port()}", rate_limit_messages=5
    )
    return await aiohttp_client(create_app(offline))


async def test_liveness_is_ok_but_not_ready_without_rasa(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["checks"] == {"rasa": False, "database": True}


async def test_turn_is_recorded_and_answered_politely_when_rasa_is_down(client: TestClient) -> None:
    response = await client.post(
        "/api/v1/messages", json={"sender": "c-down", "message": "路灯坏了"}
    )
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "engine_unavailable"
    assert body["messages"] == [{"text": UNAVAILABLE_REPLY}]
    history = await client.app[keys.TRANSCRIPT].history("c-down")
    assert [row["text"] for row in history][:1] == ["路灯坏了"]


async def test_emergency_is_answered_even_when_rasa_is_down(client: TestClient) -> None:
    response = await client.post(
        "/api/v1/messages", json={"sender": "c-fire", "message": "楼道里着火了！"}
    )
    body = await response.json()
    assert body["status"] == "emergency"
    assert "119" in body["messages"][0]["text"]


@pytest.mark.parametrize(
    ("data", "headers", "status", "code"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "invalid_json"),
        ("你好".encode("gbk"), {"Content-Type": "application/json"}, 400, "invalid_json"),
        (b'{"message": "hi"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400, "invalid_turn"),
        (b'{"message": 42}', {"Content-Type": "application/json"}, 400, "invalid_turn"),
        (
            b'{"sender": "../../etc", "message": "hi"}',
            {"Content-Type": "application/json"},
            400,
            "invalid_turn",
        ),
    ],
)
async def test_malformed_requests_get_a_clear_chinese_error(
    client: TestClient, data: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = await client.post("/api/v1/messages", data=data, headers=headers)
    assert response.status == status
    body = await response.json()
    assert body["error"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


async def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    payload = json.dumps({"message": "噪" * 40_000}, ensure_ascii=False).encode()
    response = await client.post(
        "/api/v1/messages", data=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert (await response.json())["error"] == "http_413"


async def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status == 404
    assert (await response.json())["message"] == "您访问的地址不存在。"


async def test_rate_limit_per_sender(client: TestClient) -> None:
    statuses = []
    for _ in range(6):
        response = await client.post(
            "/api/v1/messages", json={"sender": "c-fast", "message": "   "}
        )
        statuses.append((await response.json())["status"])
    assert statuses[:5] == ["empty"] * 5
    assert statuses[5] == "rate_limited"
    other = await client.post("/api/v1/messages", json={"sender": "c-slow", "message": " "})
    assert (await other.json())["status"] == "empty"


async def test_websocket_session_and_bad_frames(client: TestClient) -> None:
    ws = await client.ws_connect("/ws?conversation_id=web-123")
    assert json.loads(await ws.receive_str()) == {"type": "session", "conversation_id": "web-123"}
    history = json.loads(await ws.receive_str())
    assert history == {"type": "history", "messages": [], "state": "bot", "agent": ""}
    await ws.send_str("not json")
    assert json.loads(await ws.receive_str())["type"] == "error"
    await ws.send_bytes(b"\xff\xfe")
    assert json.loads(await ws.receive_str())["message"] == "请发送文字消息。"
    await ws.send_str(json.dumps({"type": "message", "text": "😀"}))
    reply = json.loads(await ws.receive_str())
    assert reply["type"] == "bot" and reply["status"] == "symbols_only"
    await ws.close()


async def test_a_storage_outage_gets_a_polite_answer_and_the_chat_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcript = client.app[keys.TRANSCRIPT]
    append = transcript.append
    down = OperationalError("INSERT …", {"text": "13912345678"}, ConnectionRefusedError())

    async def failing_append(*args: object, **kwargs: object) -> int:
        raise down

    ws = await client.ws_connect("/ws?conversation_id=web-outage")
    await ws.receive_str(), await ws.receive_str()  # session, history
    monkeypatch.setattr(transcript, "append", failing_append)
    await ws.send_str(json.dumps({"type": "message", "text": "路灯坏了"}))
    assert json.loads(await ws.receive_str()) == {"type": "error", "message": STORAGE_RETRY_MESSAGE}
    monkeypatch.setattr(transcript, "append", append)  # the database is back
    await ws.send_str(json.dumps({"type": "message", "text": "路灯坏了"}))
    reply = json.loads(await ws.receive_str())
    assert reply["type"] == "bot" and reply["status"] == "engine_unavailable"
    await ws.close()
    rest = await client.post("/api/v1/messages", json={"sender": "c-x", "message": "路灯坏了"})
    assert rest.status == 200
    monkeypatch.setattr(transcript, "append", failing_append)
    rest = await client.post("/api/v1/messages", json={"sender": "c-x", "message": "路灯坏了"})
    assert rest.status == 503
    assert (await rest.json())["message"] == "系统繁忙，请稍后再试。"


async def test_websocket_replaces_an_invalid_conversation_id(client: TestClient) -> None:
    ws = await client.ws_connect("/ws?conversation_id=%3Cscript%3E")
    session = json.loads(await ws.receive_str())
    assert session["conversation_id"] != "<script>" and len(session["conversation_id"]) == 32
    await ws.close()


async def test_web_chat_page_is_chinese_and_self_contained(client: TestClient) -> None:
    response = await client.get("/")
    html = await response.text()
    assert response.status == 200
    assert 'lang="zh-CN"' in html and "12345" in html
    assert "http://" not in html and "https://" not in html  # no external CDN
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY  # as consoles
    assert "<script>" not in html and "style=" not in html  # nothing the policy would block
    assert (await client.get("/static/chat.js")).status == 200
