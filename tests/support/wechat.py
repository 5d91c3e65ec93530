"""Helpers of the WeChat tests (the fixtures stay in tests/wechat/conftest.py)."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Awaitable, Callable

from wechat_fakes import WeChatServer

GatewayFactory = Callable[..., Awaitable[WeChatServer]]


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]
