"""A gateway with the WeChat channel, its local peers, and WeChat's server as the client."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wechat_fakes import FakeRasa, FakeWeChatApi, WeChatServer

from bot.gateway.app import create_app
from bot.settings import Settings
from tests.support.wechat import GatewayFactory, new_aes_key, new_openid


@pytest.fixture
async def fake_rasa(aiohttp_server: Any, settings: Settings) -> FakeRasa:
    rasa = FakeRasa(token=settings.rasa_token)
    server: TestServer = await aiohttp_server(rasa.app())
    rasa.url = str(server.make_url("")).rstrip("/")
    return rasa


@pytest.fixture
async def fake_wechat(aiohttp_server: Any) -> FakeWeChatApi:
    api = FakeWeChatApi(app_id="wx" + uuid.uuid4().hex[:16], app_secret=uuid.uuid4().hex)
    server: TestServer = await aiohttp_server(api.app())
    api.url = str(server.make_url("")).rstrip("/")
    return api


@pytest.fixture
def wechat_settings(
    settings: Settings, fake_rasa: FakeRasa, fake_wechat: FakeWeChatApi
) -> Settings:
    return settings.with_overrides(
        rasa_url=fake_rasa.url,
        wechat_app_id=fake_wechat.app_id,
        wechat_app_secret=fake_wechat.app_secret,
        wechat_token="tok" + uuid.uuid4().hex[:12],
        wechat_encoding_aes_key=new_aes_key(),
        wechat_api_base=fake_wechat.url,
        wechat_reply_budget_s=4.0,
    )


@pytest.fixture
def gateway(aiohttp_client: Any, wechat_settings: Settings) -> GatewayFactory:
    """Starts a gateway (one replica) and returns WeChat's server talking to it."""

    async def start(mode: str = "safe", **overrides: Any) -> WeChatServer:
        settings = wechat_settings.with_overrides(**overrides)
        client: TestClient[web.Request, web.Application] = await aiohttp_client(
            create_app(settings)
        )
        return WeChatServer(
            client=client,
            token=settings.wechat_token,
            aes_key=settings.wechat_encoding_aes_key,
            app_id=settings.wechat_app_id,
            mode=mode,
        )

    return start


@pytest.fixture
def openid() -> str:
    return new_openid()
