"""WeChat Official Account (公众号) citizens: who they are to the assistant, and the menu.

A WeChat citizen's conversation id is ``"wx:" + OpenID``: the OpenID is stable per citizen
and account, so the gateway, the actions and the work-order webhooks find the same
conversation, and a work-order notice finds its way back to the OpenID. This is the one
place that scheme is written; the protocol itself lives in ``connectors/wechat`` and the
channel's HTTP side in ``bot/gateway/channels/wechat.py``.
"""

from __future__ import annotations

import re

CHANNEL = "wechat"
CONVERSATION_PREFIX = "wx:"
_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def conversation_id_for(openid: str) -> str:
    return CONVERSATION_PREFIX + openid


def valid_openid(openid: str) -> bool:
    return bool(_OPENID.match(openid))


def openid_of(conversation_id: str) -> str | None:
    """The citizen's OpenID when the conversation came from WeChat, else None."""
    if conversation_id.startswith(CONVERSATION_PREFIX):
        openid = conversation_id[len(CONVERSATION_PREFIX) :]
        return openid if valid_openid(openid) else None
    return None
