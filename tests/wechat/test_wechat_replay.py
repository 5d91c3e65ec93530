"""In plain mode the signature covers the URL, not the body: a captured signed URL must
not carry a second body, on any replica, whichever store remembers its nonce."""

from __future__ import annotations

from typing import Any

import pytest
from wechat_fakes import FakeRasa

from tests.support.wechat import GatewayFactory, new_openid


@pytest.mark.parametrize("store", ["sql", pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_reused_timestamp_and_nonce_is_refused(
    gateway: GatewayFactory, fake_rasa: FakeRasa, request: pytest.FixtureRequest, store: str
) -> None:
    shared: dict[str, Any] = {"mode": "plain"}
    if store == "redis":
        shared["redis_url"] = request.getfixturevalue("redis_url")
    first, second = await gateway(**shared), await gateway(**shared)
    citizen, impostor = new_openid(), new_openid()
    captured = first.query()
    answered = await first.post_raw(first.text(citizen, "路灯坏了").encode(), captured)
    assert answered.status == 200 and answered.content == "收到：路灯坏了"

    forged = second.text(impostor, "帮我撤销工单").encode()
    for replica in (first, second):
        replayed = await replica.post_raw(forged, captured)
        assert replayed.status == 403, replayed
        assert replayed.error is not None and replayed.error["error"] == "replayed_request"
    assert fake_rasa.texts == ["路灯坏了"]

    fresh = await second.post(second.text(impostor, "帮我撤销工单"))  # WeChat signs anew
    assert fresh.status == 200 and fake_rasa.texts == ["路灯坏了", "帮我撤销工单"]
