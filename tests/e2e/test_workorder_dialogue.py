"""From a Chinese complaint on the web chat to a work order, checked by its number; the
department's actions on it arrive on the open page, and the citizen's 不满意 reopens it:
the real gateway, Rasa, action server and reference work-order service, as `make run`
starts them."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import aiohttp
import pytest

from bot.launcher import Stack
from bot.workorder_service.auth import Kind, issue_token
from tests.dialogue.conversation import AGENT_ONLY
from tests.e2e.chat import WebChat

pytestmark = pytest.mark.e2e

NUMBER = re.compile(r"(GD|SL)\d{13}")


class Citizen:
    """The web chat, keeping status notices (pushed at any time) apart from the replies."""

    def __init__(self, chat: WebChat) -> None:
        self.chat = chat
        self.notices: list[str] = []

    async def _frame(self, timeout_s: float) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await self.chat.ws.receive_str(timeout=timeout_s))
        return frame

    async def say(self, text: str) -> tuple[str, list[str]]:
        await self.chat.ws.send_str(json.dumps({"type": "message", "text": text}))
        while True:
            frame = await self._frame(90)
            if frame.get("status") == "workorder":
                self.notices.append(WebChat.text_of(frame))
                continue
            buttons = [b["title"] for m in frame.get("messages", []) for b in m.get("buttons", [])]
            return WebChat.text_of(frame), buttons

    async def notice(self, containing: str, timeout_s: float = 30) -> str:
        while not any(containing in notice for notice in self.notices):
            frame = await self._frame(timeout_s)
            if frame.get("status") == "workorder":
                self.notices.append(WebChat.text_of(frame))
        return next(notice for notice in self.notices if containing in notice)


async def test_a_complaint_becomes_a_work_order_that_the_citizen_can_follow(
    default_stack: Stack,
) -> None:
    settings = default_stack.settings
    async with aiohttp.ClientSession() as session:
        chat = await WebChat.open(session, settings.gateway_url, f"e2e-wo-{uuid.uuid4().hex[:8]}")
        citizen = Citizen(chat)
        text, _ = await citizen.say(
            "我要投诉，历下区泉城路123号附近的烧烤店油烟太大，天天熏得没法开窗"
        )
        assert "电话" in text, text  # the matter and the place were taken from the message
        assert "“投诉”类" in text and "城市管理局" in text, text  # predicted, said plainly
        assert not AGENT_ONLY.search(text), text
        text, _ = await citizen.say("138123")
        assert "11 位" in text, text
        text, buttons = await citizen.say("13812345678")
        assert "称呼" in text and buttons == ["跳过"], text
        text, buttons = await citizen.say("跳过")
        assert buttons == ["同意", "不同意"], text
        text, buttons = await citizen.say("你是机器人吗")  # answered, then asked again
        assert "人工智能" in text and buttons == ["同意", "不同意"], text
        text, buttons = await citizen.say("同意")
        assert "保密" in text, text
        summary, buttons = await citizen.say("不需要保密")
        assert "诉求类型：投诉" in summary and "城市管理局" in summary, summary
        assert "地点：历下区泉城路123号附近" in summary, summary
        assert not AGENT_ONLY.search(summary), summary  # no reasoning, cues or confidences
        assert buttons[0] == "确认提交" and "修改" in buttons, buttons
        # the citizen may change the predicted type (and the unit) before submitting
        text, buttons = await citizen.say("修改诉求类型")
        assert buttons == ["咨询", "求助", "投诉", "举报", "建议", "表扬"], text
        summary, buttons = await citizen.say("举报")
        assert "诉求类型：举报" in summary and buttons[0] == "确认提交", summary

        accepted, _ = await citizen.say("确认提交")
        found = NUMBER.search(accepted)
        assert found is not None and "工作日" in accepted, accepted
        number = found.group(0)
        if number.startswith("SL"):  # the service was slow: the order number follows
            created = await citizen.notice(number)
            number = re.findall(r"GD\d{13}", created)[0]

        status, _ = await citizen.say(f"查一下{number}的进度")
        assert number in status and "当前状态" in status, status

        # the handling department signs for the order: the citizen's page hears of it
        center = {
            "Authorization": f"Bearer {issue_token(settings.workorder_token_secret, Kind.CENTER)}"
        }
        base = settings.workorder_url
        async with session.get(f"{base}/api/v1/orders/{number}", headers=center) as response:
            department = (await response.json())["department"]
        token = issue_token(settings.workorder_token_secret, Kind.DEPARTMENT, department)
        async with session.post(
            f"{base}/api/v1/orders/{number}/sign",
            json={},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        ) as response:
            assert response.status == 200, await response.text()
        signed = await citizen.notice("已签收")
        assert number in signed and department in signed

        # the department answers; the citizen, asked to rate, is not satisfied: 重办
        async with session.post(
            f"{base}/api/v1/orders/{number}/reply",
            json={"text": "已责令商户安装油烟净化设备。"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        ) as response:
            assert response.status == 200, await response.text()
        answered = await citizen.notice("油烟净化设备")
        assert "满意、基本满意或不满意" in answered
        text, _ = await citizen.say("不满意")
        assert "哪里不满意" in text, text
        text, _ = await citizen.say("油烟还是很大，根本没装净化器")
        assert "重办" in text and number in text, text
        await chat.ws.close()
