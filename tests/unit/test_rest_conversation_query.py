"""The REST channel takes the conversation id in the query too, where a load balancer can
hash on it (HAProxy cannot read a JSON body). Rasa is unreachable here: only the id matters."""

from __future__ import annotations

import socket

import pytest
from aiohttp.test_utils import TestClient

from bot.gateway import keys
from bot.gateway.app import create_app
from bot.settings import Settings


@pytest.fixture
async def client(aiohttp_client, settings: Settings) -> TestClient:  # type: ignore[no-untyped-def]
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    return await aiohttp_client(
        create_app(settings.with_overrides(rasa_url=f"http://127.0.0.1:{port}"))
    )


@pytest.mark.parametrize(
    "body", [{"message": "路灯坏了"}, {"sender": "c-q", "message": "路灯坏了"}]
)
async def test_the_query_names_the_conversation(client: TestClient, body: dict[str, str]) -> None:
    response = await client.post("/api/v1/messages?conversation_id=c-q", json=body)
    assert response.status == 200
    assert (await response.json())["conversation_id"] == "c-q"
    history = await client.app[keys.TRANSCRIPT].history("c-q")
    assert [row["text"] for row in history][:1] == ["路灯坏了"]


async def test_a_query_that_contradicts_the_sender_is_refused(client: TestClient) -> None:
    response = await client.post(
        "/api/v1/messages?conversation_id=c-a", json={"sender": "c-b", "message": "你好"}
    )
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid_turn" and "不一致" in body["message"]
