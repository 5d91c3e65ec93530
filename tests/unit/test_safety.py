"""Emergency diversion and out-of-scope guidance: the first checks on every message."""

from __future__ import annotations

import pytest

from bot.safety import detect_emergency, detect_out_of_scope, emergency_reply, out_of_scope_reply


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我家厨房着火了，火很大！", "119"),
        ("楼下仓库冒浓烟了快来人", "119"),
        ("家里煤气泄漏了，味道很大怎么办", "119"),
        ("闻到很重的天然气味，整个楼道都是", "119"),
        ("有人持刀抢劫，就在经十路上", "110"),
        ("小区里有人在打架，已经见血了，正在打", "110"),
        ("我爸突然晕倒了，叫不醒", "120"),
        ("老人在公园摔伤了起不来，动不了", "120"),
        ("泉城路和解放路路口出车祸了，两车相撞", "122"),
        ("刚刚被车撞了，司机要跑", "122"),
    ],
)
def test_emergencies_get_the_right_number(text: str, number: str) -> None:
    emergency = detect_emergency(text)
    assert emergency is not None, text
    assert emergency.number == number
    reply = emergency_reply(emergency)
    assert number in reply
    assert "12345" in reply  # tells the citizen not to wait here


@pytest.mark.parametrize(
    "text",
    [
        "我想咨询一下消防通道的标准",
        "去年家里着火了，保险怎么理赔",
        "交通事故责任认定书在哪里领",
        "燃气费怎么在网上缴纳",
        "小区电梯多久年检一次",
        "急救培训在哪里报名",
        "这个路口经常出车祸，建议加个红绿灯",
        "应急救援员培训在哪报名",
        "洪水灾害急救要点有哪些",
        "你好",
    ],
)
def test_ordinary_questions_are_not_emergencies(text: str) -> None:
    assert detect_emergency(text) is None


def test_past_event_told_as_happening_now_is_an_emergency() -> None:
    assert detect_emergency("之前报过，现在又着火了，快来") is not None


def test_general_emergency_reply_lists_every_number() -> None:
    reply = emergency_reply(None)
    for number in ("110", "119", "120", "122"):
        assert number in reply


@pytest.mark.parametrize(
    ("text", "kind", "hint"),
    [
        ("我已经起诉了，法院什么时候开庭", "litigation", "法院"),
        ("劳动仲裁已经受理了，能不能帮我催一下", "arbitration", "仲裁委员会"),
        ("我去年上访的事情现在怎么样了", "petition", "信访"),
        ("我要申请政府信息公开，拿到拆迁补偿方案", "information_disclosure", "政府信息公开条例"),
        ("帮我查一下我前妻现在的住址", "privacy_or_secret", "隐私"),
    ],
)
def test_out_of_scope_matters_get_their_route(text: str, kind: str, hint: str) -> None:
    scope = detect_out_of_scope(text)
    assert scope is not None and scope.kind == kind
    reply = out_of_scope_reply(text)
    assert hint in reply
    assert reply.startswith("抱歉")


def test_unrelated_request_gets_a_general_route() -> None:
    assert detect_out_of_scope("给我讲个笑话吧") is None
    reply = out_of_scope_reply("给我讲个笑话吧")
    assert "不在12345热线的受理范围内" in reply
    assert "转接人工" in reply
