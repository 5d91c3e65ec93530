"""The WeChat protocol end to end: URL check, signatures, the three modes, hostile input.

Every message is built, signed and encrypted by wechatpy as WeChat's server would, posted
to a real gateway, and its reply decrypted and parsed by wechatpy (see wechat_fakes).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
from wechat_fakes import FakeRasa, WeChatServer, sign
from wechatpy.crypto import WeChatCrypto

from bot.gateway.app import create_app
from bot.settings import Settings
from tests.support.wechat import GatewayFactory, new_aes_key


async def test_url_verification_echoes_echostr(gateway: GatewayFactory) -> None:
    server = await gateway()
    query = server.query(echostr="7364528173648")
    response = await server.client.get(f"/wechat?{urlencode(query)}")
    assert response.status == 200
    assert await response.text() == "7364528173648"


async def test_url_verification_with_a_bad_signature_is_refused(gateway: GatewayFactory) -> None:
    server = await gateway()
    query = server.query(echostr="42", signature=sign("other-token", "1", "2"))
    response = await server.client.get(f"/wechat?{urlencode(query)}")
    assert response.status == 403
    assert (await response.json())["error"] == "invalid_signature"


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
async def test_text_message_gets_a_passive_reply_in_every_mode(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str, mode: str
) -> None:
    server = await gateway(mode=mode)
    reply = await server.post(server.text(openid, "小区门口路灯坏了"))
    assert reply.status == 200
    assert reply.message is not None and reply.message.type == "text"
    assert reply.content == "收到：小区门口路灯坏了"
    assert reply.message.source == server.account  # FromUserName: the account
    assert reply.message.target == openid  # ToUserName: the citizen
    assert fake_rasa.received[0]["sender"] == f"wx:{openid}"
    assert fake_rasa.received[0]["metadata"]["channel"] == "wechat"


async def test_plaintext_messages_work_without_an_aes_key(
    gateway: GatewayFactory, openid: str
) -> None:
    server = await gateway(mode="plain", wechat_encoding_aes_key="")
    reply = await server.post(server.text(openid, "你好"))
    assert reply.content == "收到：你好"


async def test_bad_signature_on_a_message_is_refused(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway(mode="plain")
    reply = await server.post(server.text(openid, "你好"), signature="0" * 40)
    assert reply.status == 403
    assert reply.error == {"error": "invalid_signature", "message": "签名校验失败。"}
    assert fake_rasa.received == []


async def test_stale_timestamp_is_refused(gateway: GatewayFactory, openid: str) -> None:
    server = await gateway(mode="plain")
    old = str(int(time.time()) - 3600)
    query = server.query(timestamp=old, nonce="n", signature=sign(server.token, old, "n"))
    stale = await server.post_raw(server.text(openid, "你好").encode(), query)
    assert stale.status == 403 and stale.error is not None
    assert stale.error["error"] == "stale_timestamp"


async def test_bad_msg_signature_is_refused(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway(mode="safe")
    reply = await server.post(server.text(openid, "你好"), msg_signature="f" * 40)
    assert reply.status == 403
    assert reply.error is not None and reply.error["error"] == "invalid_msg_signature"
    assert fake_rasa.received == []


async def test_ciphertext_for_another_key_or_account_is_refused(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway(mode="safe")
    xml = server.text(openid, "你好")
    for crypto in (
        WeChatCrypto(server.token, new_aes_key(), server.app_id),  # another EncodingAESKey
        WeChatCrypto(server.token, server.aes_key, "wx0000000000000000"),  # another AppID
    ):
        encrypt = server.seal(xml, crypto)
        reply = await server.post_raw(server.envelope(xml, encrypt).encode(), server.query(encrypt))
        assert reply.status == 400
        assert reply.error is not None and reply.error["error"] == "invalid_ciphertext"
    assert fake_rasa.received == []


async def test_replayed_message_is_answered_once(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway(mode="safe")
    xml = server.text(openid, "我要投诉噪音扰民", msg_id=6_912_345_678_901_234_567)
    first = await server.post(xml)
    again = await server.post(xml)  # WeChat's retry: same MsgId, new timestamp and nonce
    assert first.content == "收到：我要投诉噪音扰民"
    assert (again.status, again.body) == (200, "success")
    assert fake_rasa.texts == ["我要投诉噪音扰民"]


async def test_replayed_event_is_handled_once(gateway: GatewayFactory, openid: str) -> None:
    server = await gateway(mode="plain")
    xml = server.event(openid, "subscribe", create_time=1_764_000_000)
    assert (await server.post(xml)).message is not None
    assert (await server.post(xml)).body == "success"
    later = server.event(openid, "subscribe", create_time=1_764_000_100)
    assert (await server.post(later)).message is not None


async def test_a_retry_after_a_restart_is_still_recognised(
    aiohttp_client: Any, wechat_settings: Settings, fake_rasa: FakeRasa, openid: str
) -> None:
    def peer(client: Any) -> WeChatServer:
        return WeChatServer(
            client,
            wechat_settings.wechat_token,
            wechat_settings.wechat_encoding_aes_key,
            wechat_settings.wechat_app_id,
        )

    first = peer(await aiohttp_client(create_app(wechat_settings)))
    xml = first.text(openid, "重启前的消息")
    assert (await first.post(xml)).content == "收到：重启前的消息"
    await first.client.close()
    second = peer(await aiohttp_client(create_app(wechat_settings)))  # same database
    assert (await second.post(xml)).body == "success"
    assert fake_rasa.texts == ["重启前的消息"]


XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>{openid}</FromUserName>
<CreateTime>1764000000</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content>
<MsgId>1</MsgId></xml>"""

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]><xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol9;</Content></xml>"
)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>",
        "not xml at all",
        "",
        '{"MsgType": "text"}',
        "<root><MsgType>text</MsgType></root>",
        "<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>",
        "<xml><ToUserName>gh</ToUserName><FromUserName>../../x</FromUserName>"
        "<MsgType>text</MsgType></xml>",
        XXE,
        LAUGHS,
    ],
    ids=[
        "truncated",
        "text",
        "empty",
        "json",
        "wrong-root",
        "no-sender",
        "bad-openid",
        "external-entity",
        "billion-laughs",
    ],
)
@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_malformed_and_hostile_xml_is_refused_clearly(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str, body: str, mode: str
) -> None:
    server = await gateway(mode=mode)
    xml = body.replace("{openid}", openid)
    if mode == "plain":
        reply = await server.post_raw(xml.encode(), server.query())
    else:  # hidden inside a correctly signed, correctly encrypted envelope
        encrypt = server.seal(xml)
        reply = await server.post_raw(server.envelope(xml, encrypt).encode(), server.query(encrypt))
    assert reply.status == 400  # entities are refused, never expanded
    assert reply.error is not None and reply.error["error"] == "invalid_xml"
    assert "消息格式不正确" in reply.error["message"]
    assert fake_rasa.received == []
    assert (await server.post(server.text(openid, "还在吗"))).content == "收到：还在吗"


async def test_ten_megabyte_body_is_refused_without_harm(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway(mode="plain")
    padding = "<Pad>" + "好" * (10 * 1024 * 1024 // 3) + "</Pad>"
    xml = server.text(openid, "大消息").replace("</xml>", padding + "</xml>")
    assert len(xml.encode()) > 10 * 1024 * 1024
    reply = await server.post_raw(xml.encode(), server.query())
    assert reply.status == 413
    assert reply.error is not None and "过大" in reply.error["message"]
    assert fake_rasa.received == []
    assert (await server.post(server.text(openid, "还在吗"))).content == "收到：还在吗"


async def test_channel_is_absent_when_wechat_is_not_configured(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/wechat")).status == 404


def test_a_bad_aes_key_stops_the_gateway_at_start(wechat_settings: Settings) -> None:
    with pytest.raises(ValueError, match="WECHAT_ENCODING_AES_KEY"):
        create_app(wechat_settings.with_overrides(wechat_encoding_aes_key="short"))
