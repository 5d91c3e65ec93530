"""Peers of the WeChat channel in the tests: WeChat's server, WeChat's API and the engine.

* :class:`WeChatServer` is the real client side: every message is written with wechatpy's
  own field types, read back by ``wechatpy.parse_message`` to prove it is what wechatpy
  (and so WeChat) means by that message, signed like WeChat signs it and, in safe or
  compatible mode, encrypted with ``wechatpy.crypto.WeChatCrypto``. Replies are decrypted,
  signature-checked and parsed with wechatpy too.
* :class:`FakeWeChatApi` is a local fake of WeChat's HTTP API (token, customer-service
  send, menu create), served by aiohttp inside the test and recording what it received.
  Like the real API, only the most recently issued access_token is valid.
* :class:`FakeRasa` stands in for Rasa's hotline channel (``POST
  /webhooks/hotline/webhook``). Rasa is a project process and the e2e suite runs the real
  one; it is slow to start and its answers depend on the trained model, so the WeChat
  channel tests talk to this deterministic local peer that speaks the same protocol.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import xmltodict
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.fields import BaseField, FloatField, IntegerField, StringField
from wechatpy.messages import BaseMessage
from wechatpy.utils import WeChatSigner

from bot.wechat.menu import menu_problems


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


@dataclass
class Scripted:
    messages: list[dict[str, Any]]
    gate: asyncio.Event | None = None  # the answer waits until the test opens it


@dataclass
class FakeRasa:
    token: str
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    script: dict[str, Scripted] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/hotline/webhook", self._webhook)
        return app

    @property
    def texts(self) -> list[str]:
        return [body["message"] for body in self.received]

    async def _webhook(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorised"}, status=401)
        body = await request.json()
        self.received.append(body)
        turn = self.script.get(body["message"])
        if turn is None:
            turn = Scripted([{"recipient_id": body["sender"], "text": f"收到：{body['message']}"}])
        if turn.gate is not None:
            await turn.gate.wait()
        return web.json_response(
            {
                "messages": turn.messages,
                "nlu": {"intent": "inform", "confidence": 0.9, "entities": []},
                "actions": ["utter_request_received"],
            }
        )


@dataclass
class FakeWeChatApi:
    app_id: str
    app_secret: str
    url: str = ""
    issued: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[tuple[str, int]] = field(default_factory=list)  # (token used, errcode)
    menus: list[dict[str, Any]] = field(default_factory=list)
    reject_all_sends: bool = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/menu/create", self._menu)
        return app

    def expire_current_token(self) -> None:
        """WeChat ends a token early, e.g. because another client fetched a new one."""
        self.issued.append(f"revoked-{uuid.uuid4().hex}")

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == openid]

    async def wait_for_texts(self, openid: str, count: int, timeout_s: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while len(self.texts_to(openid)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages, got {self.texts_to(openid)}")
            await asyncio.sleep(0.02)
        return self.texts_to(openid)

    def _valid(self, request: web.Request) -> tuple[str, int]:
        token = request.query.get("access_token", "")
        if not self.issued or token != self.issued[-1]:
            return token, 40001
        return token, 0

    async def _token(self, request: web.Request) -> web.Response:
        query = request.query
        if (
            query.get("grant_type") != "client_credential"
            or query.get("appid") != self.app_id
            or query.get("secret") != self.app_secret
        ):
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        token = f"token-{len(self.issued) + 1}-{uuid.uuid4().hex}"
        self.issued.append(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        token, errcode = self._valid(request)
        if self.reject_all_sends:
            errcode = 40001
        self.attempts.append((token, errcode))
        if errcode:
            return web.json_response({"errcode": errcode, "errmsg": "invalid credential"})
        body = await request.json()
        if body.get("msgtype") != "text" or len(body["text"]["content"].encode()) > 2048:
            return web.json_response({"errcode": 45002, "errmsg": "content size out of limit"})
        self.sent.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _menu(self, request: web.Request) -> web.Response:
        _, errcode = self._valid(request)
        if errcode:
            return web.json_response({"errcode": errcode, "errmsg": "invalid credential"})
        menu = await request.json()
        if menu_problems(menu):
            return web.json_response({"errcode": 40016, "errmsg": "invalid button size"})
        self.menus.append(menu)
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@dataclass
class Reply:
    status: int
    body: str
    message: BaseMessage | None  # the reply as wechatpy reads it; None for "success"
    error: dict[str, Any] | None = None

    @property
    def content(self) -> str:
        assert self.message is not None, self.body
        return str(self.message.content)


@dataclass
class WeChatServer:
    """Sends what WeChat's server sends, in ``mode`` plain, compatible or safe."""

    client: TestClient[web.Request, web.Application]
    token: str
    aes_key: str
    app_id: str
    mode: str = "safe"
    account: str = "gh_0123456789ab"
    path: str = "/wechat"
    _msg_ids: int = 0

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.app_id)

    # --- messages, written with wechatpy's field types -------------------------------------

    def message(
        self,
        openid: str,
        msg_type: str,
        fields: list[tuple[BaseField, Any]],
        *,
        msg_id: int | None = None,
        create_time: int | None = None,
        event: str | None = None,
    ) -> str:
        nodes = [
            StringField("ToUserName").to_xml(self.account),
            StringField("FromUserName").to_xml(openid),
            IntegerField("CreateTime").to_xml(create_time or int(time.time())),
            StringField("MsgType").to_xml(msg_type),
        ]
        if event is not None:
            nodes.append(StringField("Event").to_xml(event))
        nodes.extend(kind.to_xml(value) for kind, value in fields)
        if event is None:
            if msg_id is None:
                self._msg_ids += 1
                msg_id = int(time.time() * 1000) * 1000 + self._msg_ids
            nodes.append(IntegerField("MsgId").to_xml(msg_id))
        xml = "<xml>\n" + "\n".join(nodes) + "\n</xml>"
        parsed = parse_message(xml)
        assert parsed.source == openid and parsed.target == self.account, xml
        return xml

    def text(self, openid: str, content: str, msg_id: int | None = None) -> str:
        xml = self.message(openid, "text", [(StringField("Content"), content)], msg_id=msg_id)
        assert parse_message(xml).content == content
        return xml

    def voice(self, openid: str, recognition: str | None) -> str:
        fields: list[tuple[BaseField, Any]] = [
            (StringField("MediaId"), "media-" + uuid.uuid4().hex),
            (StringField("Format"), "amr"),
        ]
        if recognition is not None:
            fields.append((StringField("Recognition"), recognition))
        xml = self.message(openid, "voice", fields)
        assert parse_message(xml).type == "voice"
        return xml

    def image(self, openid: str) -> str:
        fields: list[tuple[BaseField, Any]] = [
            (StringField("PicUrl"), "http://mmbiz.qpic.cn/example.jpg"),
            (StringField("MediaId"), "media-" + uuid.uuid4().hex),
        ]
        return self.message(openid, "image", fields)

    def location(self, openid: str, label: str) -> str:
        fields: list[tuple[BaseField, Any]] = [
            (FloatField("Location_X"), 36.6683),
            (FloatField("Location_Y"), 117.0205),
            (IntegerField("Scale"), 15),
            (StringField("Label"), label),
        ]
        xml = self.message(openid, "location", fields)
        assert parse_message(xml).label == label
        return xml

    def video(self, openid: str) -> str:
        fields: list[tuple[BaseField, Any]] = [
            (StringField("MediaId"), "media-" + uuid.uuid4().hex),
            (StringField("ThumbMediaId"), "thumb-" + uuid.uuid4().hex),
        ]
        xml = self.message(openid, "video", fields)
        assert parse_message(xml).type == "video"
        return xml

    def link(self, openid: str) -> str:
        fields: list[tuple[BaseField, Any]] = [
            (StringField("Title"), "一篇文章"),
            (StringField("Description"), "文章摘要"),
            (StringField("Url"), "https://example.com/a"),
        ]
        return self.message(openid, "link", fields)

    def event(self, openid: str, event: str, key: str | None = None, create_time: int = 0) -> str:
        fields: list[tuple[BaseField, Any]] = []
        if key is not None:
            fields.append((StringField("EventKey"), key))
        xml = self.message(openid, "event", fields, event=event, create_time=create_time)
        assert parse_message(xml).event == event.lower()
        return xml

    # --- transport ------------------------------------------------------------------------

    def query(self, xml_envelope_encrypt: str | None = None, **overrides: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        nonce = uuid.uuid4().hex[:10]
        query = {
            "signature": sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": "unused-by-the-gateway",
        }
        if xml_envelope_encrypt is not None:
            query["encrypt_type"] = "aes"
            query["msg_signature"] = sign(self.token, timestamp, nonce, xml_envelope_encrypt)
        query.update(overrides)
        return query

    def seal(self, xml: str, crypto: WeChatCrypto | None = None) -> str:
        """``xml`` encrypted the way WeChat encrypts it: the Encrypt value alone."""
        sealed = (crypto or self.crypto).encrypt_message(xml, "n0nce")
        return str(xmltodict.parse(sealed)["xml"]["Encrypt"])

    def envelope(self, xml: str, encrypt: str) -> str:
        if self.mode == "compatible":
            return xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n</xml>")
        return (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )

    async def post(self, xml: str, **query_overrides: str) -> Reply:
        if self.mode == "plain":
            body, query = xml, self.query(**query_overrides)
        else:
            encrypt = self.seal(xml)
            body, query = self.envelope(xml, encrypt), self.query(encrypt, **query_overrides)
        return await self.post_raw(body.encode("utf-8"), query)

    async def post_raw(self, body: bytes, query: dict[str, str]) -> Reply:
        response = await self.client.post(
            f"{self.path}?{urlencode(query)}",
            data=body,
            headers={"Content-Type": "text/xml"},
        )
        return await self.read(response)

    async def read(self, response: ClientResponse) -> Reply:
        text = await response.text()
        if response.status != 200:
            return Reply(response.status, text, None, await response.json())
        if text in ("success", ""):
            return Reply(response.status, text, None)
        envelope = xmltodict.parse(text)["xml"]
        if "Encrypt" in envelope:
            assert self.mode != "plain", "plaintext message answered in ciphertext"
            text = self.crypto.decrypt_message(
                text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        else:
            assert self.mode == "plain", "safe-mode message answered in plaintext"
        return Reply(response.status, text, parse_message(text))
