"""The agent-assist API: token, every kind of bad input, and real suggestions with citations."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.gateway import keys
from bot.gateway.app import knowledge_resources
from bot.gateway.handoff.assist_api import suggest
from bot.gateway.middleware import error_middleware
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.settings import Settings

TOKEN = "assist-test-token"
URL = "/api/v1/assist/suggest"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Client = TestClient[web.Request, web.Application]


def _app(seeded_kb: KnowledgeBase, token: str = TOKEN) -> web.Application:
    settings = Settings().with_overrides(assist_api_token=token)
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    app[keys.SETTINGS] = settings
    app[keys.KNOWLEDGE] = LazyKnowledgeBase(settings, knowledge_base=seeded_kb)
    app.router.add_post(URL, suggest)
    return app


@pytest.fixture
async def client(aiohttp_client: Any, seeded_kb: KnowledgeBase) -> Client:
    created: Client = await aiohttp_client(_app(seeded_kb))
    return created


async def test_suggestions_carry_answers_citations_scores_and_marked_snippets(
    client: Client,
) -> None:
    response = await client.post(
        URL, json={"text": "公积金贷款买房有什么条件", "top_k": 3}, headers=AUTH
    )
    assert response.status == 200
    body = await response.json()
    assert body["answer"]["confident"] is True
    assert body["answer"]["citation"]["entry_id"] == "kp-0033"
    assert len(body["suggestions"]) == 3
    first = body["suggestions"][0]
    assert first["rank"] == 1 and first["citation"]["entry_id"] == "kp-0033"
    assert first["answer"].startswith("据知识库记载，关于“申请住房公积金贷款需要满足什么条件”：")
    assert 0 < first["confidence"] <= 1 and {"dense", "bm25", "fused"} <= set(first["scores"])
    assert "<mark>" in first["snippet_html"]
    assert first["citation"]["highlights"]


async def test_filters_and_exact_numbers(client: Client) -> None:
    response = await client.post(
        URL,
        json={"text": "GB 5749-2006", "status": ["废止", "现行"], "kind": "standard"},
        headers=AUTH,
    )
    body = await response.json()
    assert body["suggestions"][0]["exact"] is True
    assert body["suggestions"][0]["citation"]["status"] == "废止"
    assert "GB 5749-2022" in body["answer"]["text"]
    unknown = await client.post(URL, json={"text": "GB/T 99999-2030"}, headers=AUTH)
    assert (await unknown.json())["unknown_standard_numbers"] == ["GB/T 99999-2030"]


async def test_snippets_are_html_escaped(client: Client) -> None:
    response = await client.post(
        URL, json={"text": "<script>alert(1)</script>公积金"}, headers=AUTH
    )
    assert response.status == 200
    body = await response.json()
    for suggestion in body["suggestions"]:
        assert "<script>" not in suggestion["snippet_html"]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer wrong"}, 401, "unauthorized"),
        ({"Authorization": TOKEN}, 401, "unauthorized"),
        ({"Authorization": f"Basic {TOKEN}"}, 401, "unauthorized"),
    ],
)
async def test_the_token_is_required(
    client: Client, headers: dict[str, str], status: int, code: str
) -> None:
    response = await client.post(URL, json={"text": "公积金"}, headers=headers)
    assert response.status == status
    body = await response.json()
    assert body["error"] == code and "令牌" in body["message"]


async def test_without_a_configured_token_the_api_is_off(
    aiohttp_client: Any, seeded_kb: KnowledgeBase
) -> None:
    client = await aiohttp_client(_app(seeded_kb, token=""))
    response = await client.post(URL, json={"text": "公积金"}, headers={"Authorization": "Bearer "})
    assert response.status == 503
    assert (await response.json())["error"] == "assist_disabled"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": ""}, "text 不能为空"),
        ({"text": "   \n "}, "text 不能为空"),
        ({"text": "问" * 10_000}, "text 过长（10000 字）"),
        ({"text": 12345}, "text 必须是字符串"),
        ({"text": None}, "text 必须是字符串"),
        ({}, "text 必须是字符串"),
        ({"text": ["公积金"]}, "text 必须是字符串"),
        ({"text": "公积金", "top_k": "5"}, "top_k 必须是 1 到 20 之间的整数"),
        ({"text": "公积金", "top_k": True}, "top_k 必须是 1 到 20 之间的整数"),
        ({"text": "公积金", "top_k": 0}, "top_k 必须是 1 到 20 之间的整数"),
        ({"text": "公积金", "top_k": 1000}, "top_k 必须是 1 到 20 之间的整数"),
        ({"text": "公积金", "top_k": 2.5}, "top_k 必须是 1 到 20 之间的整数"),
        ({"text": "公积金", "status": 1}, "status 必须是字符串或字符串数组"),
        ({"text": "公积金", "status": [1, 2]}, "status 必须是字符串或字符串数组"),
        ({"text": "公积金", "kind": "policy"}, "kind 只能是 standard"),
        ({"text": "公积金", "issuer": {"a": 1}}, "issuer 必须是不超过 100 字的字符串"),
        ({"text": "公积金", "question": "x"}, "不支持的字段：question"),
        (["公积金"], "请求体必须是 JSON 对象"),
        ("公积金", "请求体必须是 JSON 对象"),
    ],
)
async def test_bad_input_gets_a_clear_chinese_error(
    client: Client, body: Any, message: str
) -> None:
    response = await client.post(URL, json=body, headers=AUTH)
    assert response.status == 400
    payload = await response.json()
    assert payload["error"] == "invalid_request"
    assert payload["message"].startswith(message), payload


async def test_broken_json_and_wrong_content_type(client: Client) -> None:
    broken = await client.post(
        URL, data='{"text": "公积金', headers={**AUTH, "Content-Type": "application/json"}
    )
    assert broken.status == 400
    assert (await broken.json())["error"] == "invalid_json"
    form = await client.post(
        URL, data="text=公积金", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert form.status == 415
    assert "application/json" in (await form.json())["message"]
    huge = await client.post(
        URL, data="x" * (70 * 1024), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert huge.status == 413
    assert (await huge.json())["message"].startswith("请求内容过大")


async def test_the_knowledge_base_loads_lazily_on_start_up(
    aiohttp_client: Any, seeded_kb: KnowledgeBase
) -> None:
    settings = Settings().with_overrides(assist_api_token=TOKEN)
    app = web.Application(middlewares=[error_middleware])
    app[keys.SETTINGS] = settings
    app.cleanup_ctx.append(knowledge_resources)
    app.router.add_post(URL, suggest)
    assert keys.KNOWLEDGE not in app
    client = await aiohttp_client(app)
    assert isinstance(client.app[keys.KNOWLEDGE], LazyKnowledgeBase)
