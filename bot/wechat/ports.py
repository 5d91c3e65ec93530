"""What the WeChat channel needs from the outside, as interfaces: the customer-service API,
the stores of offered choices and handled deliveries, the message cipher.

The implementations live in ``connectors/wechat`` and are chosen where the gateway starts
(``bot/gateway/app.py``), so the channel never imports the connector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.conversation import Button


class WeChatApiError(Exception):
    """WeChat refused a call (``errcode`` set) or could not be reached (``errcode`` None)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"wechat api error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class Messenger(Protocol):
    """WeChat's customer-service messages; raises :class:`WeChatApiError` when refused."""

    async def send_text(self, openid: str, content: str) -> None: ...


class MenuApi(Protocol):
    async def create_menu(self, menu: dict[str, object]) -> None: ...


class ChoiceStore(Protocol):
    async def remember(self, openid: str, choices: Sequence[Button]) -> None:
        """Replaces the citizen's choices; an empty sequence forgets them."""

    async def recall(self, openid: str) -> tuple[Button, ...]: ...


class Deduplicator(Protocol):
    async def first_time(self, key: str) -> bool:
        """Claims ``key``; True only for the first caller, ever (within the TTL)."""


class Cipher(Protocol):
    """The safe mode's AES envelope (``WECHAT_ENCODING_AES_KEY``)."""

    def encrypt(self, message: str) -> str: ...

    def decrypt(self, encrypted: str) -> str: ...
