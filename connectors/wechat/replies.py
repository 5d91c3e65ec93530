"""Passive replies: the XML answered in the HTTP response, in plaintext or safe mode.

A passive reply is one message only and must reach WeChat within 5 seconds; anything
longer or later goes through the customer-service API instead (see ``api``).
"""

from __future__ import annotations

import re
import secrets
import string
import time

from bot.wechat.ports import Cipher
from connectors.wechat.signature import sign

# "success" (or an empty body) tells WeChat the message was received and not to retry.
SUCCESS = "success"

# Characters XML 1.0 cannot carry at all; a bot text containing one would break the reply.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NONCE_ALPHABET = string.ascii_letters + string.digits


def cdata(value: str) -> str:
    """``value`` as CDATA; a literal ``]]>`` is split across two sections."""
    clean = _NOT_XML.sub("", value)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, create_time: int | None = None) -> str:
    created = int(time.time()) if create_time is None else create_time
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def new_nonce() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(16))


def encrypted_envelope(
    cipher: Cipher,
    token: str,
    reply_xml: str,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> str:
    """The safe-mode reply: the encrypted XML with its own ``MsgSignature``."""
    stamp = timestamp or str(int(time.time()))
    once = nonce or new_nonce()
    encrypted = cipher.encrypt(reply_xml)
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{cdata(sign(token, stamp, once, encrypted))}</MsgSignature>"
        f"<TimeStamp>{stamp}</TimeStamp>"
        f"<Nonce>{cdata(once)}</Nonce>"
        "</xml>"
    )
