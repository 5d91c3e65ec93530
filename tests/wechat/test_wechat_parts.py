"""The channel's parts against wechatpy and against their own promises, and the menu command."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechat_fakes import FakeWeChatApi
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.replies import TextReply

from bot.conversation import BotMessage, Button
from bot.settings import PROJECT_ROOT, Settings
from bot.wechat.cli import install_configured_menu
from bot.wechat.menu import MENU, menu_problems
from bot.wechat.render import render, split_text
from connectors.wechat.api import WeChatApiError
from connectors.wechat.crypto import CryptoError, WeChatCipher, aes_key, pkcs7_unpad
from connectors.wechat.messages import XmlRejected, parse_xml
from connectors.wechat.replies import cdata, encrypted_envelope, text_reply
from tests.support.wechat import new_aes_key

APP_ID = "wx1234567890abcdef"


def test_our_ciphertext_is_wechatpy_readable_and_theirs_is_ours() -> None:
    key = new_aes_key()
    ours = WeChatCipher(key, APP_ID)
    theirs = PrpCrypto(aes_key(key))
    message = "<xml><Content><![CDATA[你好，12345]]></Content></xml>"
    assert theirs.decrypt(ours.encrypt(message), APP_ID) == message
    assert ours.decrypt(theirs.encrypt(message, APP_ID).decode()) == message
    with pytest.raises(CryptoError, match="AppID"):
        WeChatCipher(key, "wx_another_account").decrypt(ours.encrypt(message))


def test_encrypted_reply_is_what_wechatpy_expects() -> None:
    key, token = new_aes_key(), "token-123"
    reply = text_reply("openid-1", "gh_account", "您好]]>，已收到")
    envelope = encrypted_envelope(WeChatCipher(key, APP_ID), token, reply, "1764000000", "abc")
    plain = WeChatCrypto(token, key, APP_ID).decrypt_message(
        envelope, _field(envelope, "MsgSignature"), "1764000000", "abc"
    )
    parsed = parse_message(plain)
    assert (parsed.content, parsed.target, parsed.source) == (
        "您好]]>，已收到",
        "openid-1",
        "gh_account",
    )
    same = TextReply(source="gh_account", target="openid-1", content="x", time=1)
    assert parse_message(same.render()).type == parse_message(plain).type


def _field(xml: str, name: str) -> str:
    return str(parse_xml(xml.encode())[name])


@pytest.mark.parametrize(
    "tail", [b"", b"\x00" * 16, bytes([33]) * 32, bytes([5, 5, 5, 5, 4])], ids=repr
)
def test_bad_padding_is_refused(tail: bytes) -> None:
    with pytest.raises(CryptoError):
        pkcs7_unpad(b"x" * 27 + tail if tail else b"")


def test_cipher_refuses_garbage() -> None:
    cipher = WeChatCipher(new_aes_key(), APP_ID)
    for garbage in ("not base64!", "", "YWJj", "A" * 44):
        with pytest.raises(CryptoError):
            cipher.decrypt(garbage)


def test_cdata_survives_its_terminator_and_control_characters() -> None:
    xml = "<xml><Content>" + cdata("a]]>b\x07c") + "</Content></xml>"
    assert parse_xml(xml.encode())["Content"] == "a]]>bc"


def test_xml_size_limit_applies_before_parsing() -> None:
    with pytest.raises(XmlRejected, match="exceeds"):
        parse_xml(b"<xml>" + b" " * 70_000 + b"</xml>")


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("路灯坏了。，！？\n abc😀")), min_size=0, max_size=3000),
    st.integers(min_value=8, max_value=2048),
)
def test_split_parts_fit_and_rejoin(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert "".join(parts) == text
    assert all(0 < len(part.encode()) <= limit for part in parts)


def test_render_numbers_buttons_across_messages() -> None:
    rendered = render(
        [
            BotMessage("请选择类别：", (Button("咨询", "/consult"), Button("投诉", "/complain"))),
            BotMessage("", (Button("转人工", "/ask_human"),)),
        ]
    )
    assert rendered.texts == (
        "请选择类别：\n\n请回复数字选择：\n1. 咨询\n2. 投诉\n\n请回复数字选择：\n3. 转人工",
    )
    assert [b.payload for b in rendered.choices] == ["/consult", "/complain", "/ask_human"]


def test_menu_keeps_to_wechat_rules() -> None:
    assert menu_problems(MENU) == []
    names = json.dumps(MENU, ensure_ascii=False)
    for label in ("标准查询", "我要反映", "工单查询", "人工服务"):
        assert label in names
    too_many = {"button": [{"type": "click", "name": "标准查询", "key": "HOTLINE_STANDARD"}] * 4}
    assert "a menu has 1 to 3 top-level buttons" in menu_problems(too_many)
    long_name = {"button": [{"type": "click", "name": "十二三四五六七", "key": "HOTLINE_REPORT"}]}
    assert menu_problems(long_name)
    unknown = {"button": [{"type": "click", "name": "查询", "key": "NOPE"}]}
    assert menu_problems(unknown) == ["click key 'NOPE' is unknown to the gateway"]


async def test_install_menu_creates_it_through_the_api(
    fake_wechat: FakeWeChatApi, settings: Settings
) -> None:
    configured = settings.with_overrides(
        wechat_app_id=fake_wechat.app_id,
        wechat_app_secret=fake_wechat.app_secret,
        wechat_api_base=fake_wechat.url,
    )
    await install_configured_menu(configured)
    assert fake_wechat.menus == [MENU]
    with pytest.raises(WeChatApiError, match="sub-buttons"):
        await install_configured_menu(
            configured, {"button": [{"name": "空菜单", "sub_button": []}]}
        )
    with pytest.raises(WeChatApiError) as refused:
        await install_configured_menu(configured.with_overrides(wechat_app_secret="wrong"))
    assert refused.value.errcode == 40013


async def test_menu_command_line(fake_wechat: FakeWeChatApi, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "WECHAT_APP_ID": fake_wechat.app_id,
        "WECHAT_APP_SECRET": fake_wechat.app_secret,
        "WECHAT_API_BASE": fake_wechat.url,
        "HOTLINE_VAR_DIR": str(tmp_path),
        "REDIS_URL": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "wechat-menu",
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert out.decode().strip() == "WeChat menu created"
    assert fake_wechat.menus == [MENU]
