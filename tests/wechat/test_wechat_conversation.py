"""What citizens get on WeChat: message types, events, the menu, choices, long and late
answers, and customer-service messages through the (fake) WeChat API."""

from __future__ import annotations

import asyncio
import time

from wechat_fakes import FakeRasa, FakeWeChatApi, Scripted

from bot.gateway import keys
from bot.gateway.channels.wechat import notify_wechat_citizen
from bot.wechat import openid_of
from bot.wechat.intake import (
    IMAGE_REPLY,
    UNSUPPORTED_REPLY,
    VOICE_UNRECOGNISED_REPLY,
    WELCOME_REPLY,
)
from bot.wechat.menu import MENU_HINT
from tests.support.wechat import GatewayFactory

CHOICES = Scripted(
    [
        {
            "text": "请问是否需要为您登记工单？",
            "buttons": [
                {"title": "需要登记", "payload": "/affirm"},
                {"title": "暂不需要", "payload": "/deny"},
            ],
        }
    ]
)


async def test_voice_with_recognition_is_a_turn(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    reply = await server.post(server.voice(openid, "我家楼下的路灯坏了好几天了"))
    assert reply.content == "收到：我家楼下的路灯坏了好几天了"
    assert fake_rasa.received[0]["metadata"]["wechat"] == {"input": "voice"}


async def test_voice_without_recognition_asks_for_text(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    reply = await server.post(server.voice(openid, None))
    assert reply.content == VOICE_UNRECOGNISED_REPLY
    assert fake_rasa.received == []


async def test_image_gets_a_polite_request_and_is_on_record(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    assert (await server.post(server.image(openid))).content == IMAGE_REPLY
    assert fake_rasa.received == []
    history = await server.client.app[keys.TRANSCRIPT].history(f"wx:{openid}")
    assert [(row["role"], row["text"]) for row in history] == [
        ("citizen", "[图片]"),
        ("bot", IMAGE_REPLY),
    ]
    assert {row["channel"] for row in history} == {"wechat"}


async def test_location_label_goes_to_the_assistant(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    reply = await server.post(server.location(openid, "山东省济南市历下区泉城路188号"))
    assert reply.content == "收到：山东省济南市历下区泉城路188号"
    where = fake_rasa.received[0]["metadata"]["wechat"]["location"]
    assert (where["latitude"], where["longitude"]) == (36.6683, 117.0205)


async def test_unknown_message_types_get_a_polite_chinese_reply(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    for xml in (server.video(openid), server.link(openid)):
        assert (await server.post(xml)).content == UNSUPPORTED_REPLY
    assert fake_rasa.received == []


async def test_subscribe_gets_a_welcome_with_a_menu_hint(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    reply = await server.post(server.event(openid, "subscribe", key=""))
    assert reply.content == WELCOME_REPLY
    assert MENU_HINT in reply.content and "12345" in reply.content
    unsubscribed = await server.post(server.event(openid, "unsubscribe"))
    assert unsubscribed.body == "success"
    assert fake_rasa.received == []


async def test_menu_click_starts_the_matching_dialogue(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    fake_rasa.script["/check_ticket"] = Scripted(
        [{"text": "请提供您的工单编号（如 GD2026112900012），我帮您查询办理进度。"}]
    )
    reply = await server.post(server.event(openid, "CLICK", key="HOTLINE_TICKET"))
    assert reply.content.startswith("请提供您的工单编号")
    assert fake_rasa.texts == ["/check_ticket"]
    assert fake_rasa.received[0]["metadata"]["wechat"] == {"menu": "HOTLINE_TICKET"}
    view = await server.post(server.event(openid, "VIEW", key="https://12345.jinan.gov.cn"))
    assert view.body == "success"
    # events are told apart by sender and second; a second tap in the same second is a retry
    later = int(time.time()) + 1
    unknown = await server.post(server.event(openid, "CLICK", "NO_SUCH_KEY", create_time=later))
    assert "菜单暂时无法使用" in unknown.content
    assert fake_rasa.texts == ["/check_ticket"]


async def test_buttons_become_numbered_choices_answered_by_digit(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    fake_rasa.script["小区垃圾没人清理"] = CHOICES
    reply = await server.post(server.text(openid, "小区垃圾没人清理"))
    assert reply.content == (
        "请问是否需要为您登记工单？\n\n请回复数字选择：\n1. 需要登记\n2. 暂不需要"
    )
    assert (await server.post(server.text(openid, "２"))).content == "收到：/deny"
    # the answer to the choice had no buttons, so a digit is plain text again
    assert (await server.post(server.text(openid, "2"))).content == "收到：2"
    assert fake_rasa.texts == ["小区垃圾没人清理", "/deny", "2"]


async def test_choice_out_of_range_or_by_title(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    fake_rasa.script["要登记吗"] = CHOICES
    await server.post(server.text(openid, "要登记吗"))
    assert (await server.post(server.text(openid, "7"))).content == "收到：7"
    await server.post(server.text(openid, "要登记吗"))
    assert (await server.post(server.text(openid, "需要登记"))).content == "收到：/affirm"


async def test_several_bot_messages_are_merged_in_order(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    fake_rasa.script["公积金怎么提取"] = Scripted(
        [{"text": "第一步：准备身份证。"}, {"text": "第二步：到公积金中心办理。"}, {"text": ""}]
    )
    reply = await server.post(server.text(openid, "公积金怎么提取"))
    assert reply.content == "第一步：准备身份证。\n\n第二步：到公积金中心办理。"


async def test_long_answer_is_split_and_sent_in_order(
    gateway: GatewayFactory, fake_rasa: FakeRasa, fake_wechat: FakeWeChatApi, openid: str
) -> None:
    server = await gateway()
    sentences = [f"第{i}条：请携带身份证原件和复印件到窗口办理相关手续。" for i in range(1, 201)]
    fake_rasa.script["办事指南"] = Scripted([{"text": "".join(sentences)}])
    reply = await server.post(server.text(openid, "办事指南"))
    assert reply.body == "success"  # one passive reply cannot carry it all
    total = len("".join(sentences).encode()) // 2000 + 1
    parts = await fake_wechat.wait_for_texts(openid, total)
    assert len(parts) == total
    assert all(len(part.encode()) <= 2048 for part in parts)
    assert all(part.endswith("。") for part in parts)  # cut at sentence ends
    assert "".join(parts) == "".join(sentences)


async def test_slow_assistant_answers_through_customer_service_api(
    gateway: GatewayFactory, fake_rasa: FakeRasa, fake_wechat: FakeWeChatApi, openid: str
) -> None:
    server = await gateway(wechat_reply_budget_s=0.5)
    answered = asyncio.Event()
    fake_rasa.script["查询政策"] = Scripted([{"text": "这是稍后送达的答复。"}], gate=answered)
    reply = await server.post(server.text(openid, "查询政策"))
    assert reply.body == "success"  # WeChat was answered while the assistant still thought
    assert fake_wechat.texts_to(openid) == []
    answered.set()
    assert await fake_wechat.wait_for_texts(openid, 1) == ["这是稍后送达的答复。"]
    assert len(fake_wechat.issued) == 1


async def test_token_that_expires_mid_send_is_refreshed_once(
    gateway: GatewayFactory, fake_wechat: FakeWeChatApi, openid: str
) -> None:
    server = await gateway()
    app = server.client.app
    assert await notify_wechat_citizen(app, openid, "您的工单已受理。")
    fake_wechat.expire_current_token()
    assert await notify_wechat_citizen(app, openid, "您的工单已办结，感谢您的耐心等待。")
    assert fake_wechat.texts_to(openid) == [
        "您的工单已受理。",
        "您的工单已办结，感谢您的耐心等待。",
    ]
    assert [code for _, code in fake_wechat.attempts] == [0, 40001, 0]
    assert fake_wechat.attempts[1][0] == fake_wechat.attempts[0][0]  # the cached token failed
    assert fake_wechat.attempts[2][0] == fake_wechat.issued[-1]  # then a fresh one worked


async def test_a_token_rejected_again_is_not_retried_forever(
    gateway: GatewayFactory, fake_wechat: FakeWeChatApi, openid: str
) -> None:
    server = await gateway()
    fake_wechat.reject_all_sends = True
    assert not await notify_wechat_citizen(server.client.app, openid, "您的工单已办结。")
    assert [code for _, code in fake_wechat.attempts] == [40001, 40001]
    assert fake_wechat.sent == []


async def test_notification_for_a_wechat_conversation(
    gateway: GatewayFactory, fake_wechat: FakeWeChatApi, openid: str
) -> None:
    server = await gateway()
    assert openid_of(f"wx:{openid}") == openid
    assert openid_of("web-1234") is None
    text = "您反映的问题（工单号GD2026112900012）已转交历下区城管局办理。" * 60
    assert await notify_wechat_citizen(server.client.app, openid, text)
    parts = fake_wechat.texts_to(openid)
    assert len(parts) > 1 and "".join(parts) == text


async def test_turns_are_on_record_under_the_openid(gateway: GatewayFactory, openid: str) -> None:
    server = await gateway()
    await server.post(server.text(openid, "噪音扰民怎么反映"))
    history = await server.client.app[keys.TRANSCRIPT].history(f"wx:{openid}")
    assert [(row["role"], row["text"], row["channel"]) for row in history] == [
        ("citizen", "噪音扰民怎么反映", "wechat"),
        ("bot", "收到：噪音扰民怎么反映", "wechat"),
    ]


async def test_emergency_is_answered_passively_without_the_assistant(
    gateway: GatewayFactory, fake_rasa: FakeRasa, openid: str
) -> None:
    server = await gateway()
    reply = await server.post(server.text(openid, "楼道里着火了！"))
    assert "119" in reply.content
    assert fake_rasa.received == []
