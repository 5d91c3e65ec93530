"""The rules underneath the workspace: state machine, service hours on the official
calendar, the queue's estimate, and what the draft work order picks out of a chat."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import BEIJING
from bot.conversation import BotMessage, TurnResult, Understanding
from bot.handoff.config import HandoffConfig, HandoffConfigError
from bot.handoff.draft import (
    build_draft,
    citizen_statements,
    find_address,
    find_phone,
    matter_title,
    summarise,
)
from bot.handoff.feedback import Outcome, judge
from bot.handoff.gate import is_fallback, wants_human
from bot.handoff.states import TRANSITIONS, Event, InvalidTransition, State, transition
from bot.handoff.texts import queued, wait_text
from bot.settings import PROJECT_ROOT
from bot.workorders.workcalendar import WorkingCalendar
from tests.support.agent import write_handoff_config


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


@pytest.fixture(scope="module")
def config() -> HandoffConfig:
    return HandoffConfig.load(
        PROJECT_ROOT / "config" / "handoff.yml", WorkingCalendar(PROJECT_ROOT / "data" / "holidays")
    )


@pytest.mark.parametrize("event", list(Event))
@pytest.mark.parametrize("state", list(State))
def test_only_the_drawn_moves_exist(event: Event, state: State) -> None:
    move = TRANSITIONS[event]
    if state in move.sources:
        assert transition(event, state) is move.target
    else:
        with pytest.raises(InvalidTransition) as refused:
            transition(event, state)
        assert refused.value.message  # a Chinese sentence for the agent


def test_human_holds_only_while_waiting_or_with_an_agent() -> None:
    assert {s for s in State if s.human_holds} == {State.WAITING, State.WITH_AGENT}


def test_a_taken_conversation_cannot_be_claimed_twice() -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(Event.CLAIMED, State.WITH_AGENT)
    assert refused.value.message == "该会话已被其他客服接入。"


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at(2026, 11, 30, 9, 0), True),  # Monday
        (at(2026, 11, 30, 8, 29), False),  # before opening
        (at(2026, 11, 30, 20, 0), False),  # closing time is exclusive
        (at(2026, 11, 28, 10, 0), True),  # Saturday: rest-day hours 09:00—17:00
        (at(2026, 11, 28, 18, 0), False),  # Saturday evening
        (at(2026, 10, 1, 10, 0), True),  # National Day: rest-day hours
        (at(2026, 10, 1, 19, 0), False),
        (at(2026, 10, 10, 19, 0), True),  # Saturday made a working day (调休)
        (at(2026, 9, 20, 19, 0), True),  # Sunday made a working day (调休)
    ],
)
def test_service_hours_follow_the_official_calendar(
    config: HandoffConfig, moment: datetime, open_: bool
) -> None:
    assert config.hours.is_open(moment) is open_


def test_next_opening_and_description(config: HandoffConfig) -> None:
    hours = config.hours
    assert hours.next_opening(at(2026, 11, 30, 21, 0)) == at(2026, 12, 1, 8, 30)
    assert hours.next_opening(at(2026, 11, 27, 21, 0)) == at(2026, 11, 28, 9, 0)  # Saturday
    assert hours.describe() == "工作日 08:30—20:00，周末及节假日 09:00—17:00"


def test_closed_dates_override_the_calendar(tmp_path: Path) -> None:
    path = write_handoff_config(tmp_path / "h.yml", closed_dates=["2026-11-30"])
    config = HandoffConfig.load(path, WorkingCalendar(PROJECT_ROOT / "data" / "holidays"))
    assert not config.hours.is_open(at(2026, 11, 30, 10, 0))
    assert config.hours.next_opening(at(2026, 11, 30, 10, 0)) == at(2026, 12, 1, 8, 30)


@pytest.mark.parametrize(
    "changes",
    [
        {"hours": {"working_days": [["20:00", "08:00"]]}},
        {"hours": {"working_days": [["8点", "20:00"]]}},
        {"agent_capacity": 0},
        {"wrap_up_categories": {}},
        {"timezone": "Mars/Olympus"},
        {"closed_dates": ["明天"]},
    ],
)
def test_bad_configuration_is_refused_at_start(tmp_path: Path, changes: dict[str, object]) -> None:
    path = write_handoff_config(tmp_path / "h.yml", **changes)
    with pytest.raises(HandoffConfigError):
        HandoffConfig.load(path, WorkingCalendar(None))


def test_wait_texts() -> None:
    assert wait_text(0.4) == "1分钟以内" and wait_text(6.2) == "约7分钟"
    assert "您是下一位" in queued(0, 1, False)
    long = queued(4, 25, True)
    assert "前面还有4位" in long and "约25分钟" in long and "留言" in long


def test_fallback_and_handoff_detection() -> None:
    assert is_fallback(Understanding(intent="nlu_fallback", actions=("utter_default",)))
    # unsure of the intent, but the matter was taken up: not a misunderstanding
    assert not is_fallback(
        Understanding(intent="nlu_fallback", actions=("action_handle_unclear", "workorder_form"))
    )
    assert is_fallback(Understanding(intent="inform", actions=("action_default_fallback",)))
    assert not is_fallback(Understanding(intent="greet", actions=("utter_greet",)))
    assert wants_human(TurnResult((), understanding=Understanding(intent="ask_human")))
    assert wants_human(
        TurnResult((BotMessage(custom={"handoff": {"request": "citizen_request"}}),))
    )
    assert not wants_human(TurnResult((BotMessage(custom={"other": 1}),)))


def test_statements_leave_out_commands_and_acknowledgements() -> None:
    rows = [
        {"role": "citizen", "text": "小区门口路灯坏了"},
        {"role": "bot", "text": "已记录"},
        {"role": "citizen", "text": "转人工"},
        {"role": "citizen", "text": "/handoff_cancel"},
        {"role": "citizen", "text": "好的"},
        {"role": "citizen", "text": "在泉城路附近，电话 138-0531-1234"},
        {"role": "agent", "text": "您好"},
    ]
    statements = citizen_statements(rows)
    assert statements == ["小区门口路灯坏了", "在泉城路附近，电话 138-0531-1234"]
    draft = build_draft(statements, None)
    assert draft.phone == "13805311234" and draft.address == "泉城路附近"
    assert draft.content == "市民反映：小区门口路灯坏了（地点：泉城路附近）。"
    assert draft.request_type == "" and draft.department == ""  # nothing is invented
    assert (
        summarise([], None, "市民要求转人工") == "市民尚未描述具体问题｜转人工原因：市民要求转人工"
    )


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("我家在历下区和平路小区3号楼，楼下烧烤店噪音太大", "历下区和平路小区3号楼"),
        ("我住在历城区王舍人街道幸福花园5号楼2单元", "历城区王舍人街道幸福花园5号楼2单元"),
        ("我想投诉,历城区幸福花园5号楼旁边的路灯坏了", "历城区幸福花园5号楼"),
        ("位于经十路12345号的工地晚上施工", "经十路12345号"),
        ("地址是历下区文化东路幸福小区3号楼2单元502", "历下区文化东路幸福小区3号楼2单元502"),
        ("公积金怎么提取", ""),
    ],
)
def test_addresses_are_taken_as_said(text: str, address: str) -> None:
    assert find_address(text) == address


def test_a_draft_can_be_submitted_as_it_is() -> None:
    """The matter once, in clauses, without greetings, acknowledgements or contact details;
    the contact details and the full address in their own fields; a complaint is 投诉."""
    statements = citizen_statements(
        [
            {"role": "citizen", "text": text}
            for text in (
                "你好",
                "我要投诉，楼下烧烤店每天晚上油烟太大了",
                "楼下烧烤店每天晚上油烟太大了，熏得没法开窗",
                "地址是历下区文化东路幸福小区3号楼2单元502",
                "好的",
                "我的电话是13812345678，我姓王",
            )
        ]
    )
    draft = build_draft(statements, None)
    assert draft.content == (
        "市民反映：楼下烧烤店每天晚上油烟太大了，熏得没法开窗"
        "（地点：历下区文化东路幸福小区3号楼2单元502）。"
    )
    assert (draft.phone, draft.name, draft.request_type) == ("13812345678", "王", "投诉")
    assert draft.address == "历下区文化东路幸福小区3号楼2单元502"
    assert matter_title(statements) == "楼下烧烤店每天晚上油烟太大了"


@pytest.mark.parametrize(
    ("text", "phone"),
    [("电话13805311234", "13805311234"), ("座机0531-86081234", "0531-86081234"), ("没有", "")],
)
def test_phone_numbers(text: str, phone: str) -> None:
    assert find_phone(text) == phone


def test_used_edited_judgement() -> None:
    assert judge("请携带身份证办理。", "请携带身份证 办理。") == (Outcome.USED, 1.0)
    outcome, similarity = judge("请携带身份证办理。", "请携带身份证和户口本办理。")
    assert outcome is Outcome.EDITED and 0.5 < similarity < 1


def test_real_classification_fills_type_and_unit() -> None:
    from bot.routing import load_classifier

    statements = ["我要投诉，历城区幸福花园5号楼旁边的路灯坏了一个星期了"]
    classification = load_classifier().classify(statements[0])
    draft = build_draft(statements, classification)
    assert draft.request_type == "投诉" and draft.department and draft.reason
    assert "建议承办" in summarise(statements, classification, "市民要求转人工")


async def test_the_rasa_action_hands_the_request_to_the_gateway() -> None:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

    from actions.handoff import ActionHandoff

    executor = ActionExecutor()
    executor.register_package("actions")
    assert "action_handoff" in executor.actions
    dispatcher = CollectingDispatcher()
    tracker = Tracker(
        "c1", {}, {"text": "转人工", "intent": {"name": "ask_human"}}, [], False, None, {}, ""
    )
    assert await ActionHandoff().run(dispatcher, tracker, {}) == []
    [message] = dispatcher.messages
    reply = TurnResult((BotMessage.from_rasa(message),))
    assert wants_human(reply)
