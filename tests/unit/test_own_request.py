"""Own work order vs public progress (issue 11, item 5): "…什么时候通车" is a 咨询 for the
department; a lookup only when the citizen refers to a request of their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.workorders.lookup import ActionStartTicketLookup
from bot.safety.evaluation import nlu_examples
from bot.workorders.dialogue.own_request import is_public_progress_question

TICKETS = Path(__file__).resolve().parents[2] / "data" / "nlu" / "tickets.yml"


@pytest.mark.parametrize(
    "text",
    [
        "****路改造工程进展如何",
        "地铁8号线什么时候通车",
        "地铁几号线什么时候通车",
        "我们小区旁边的学校什么时候完工",
        "棚改安置房什么时候交付",
        "我家附近的拆迁项目现在进展到哪一步了",
        "想问问****医院新院区什么时候开工",
    ],
)
def test_public_progress_is_not_a_lookup(text: str) -> None:
    assert is_public_progress_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "我反映的道路施工噪音问题进展如何",
        "我上次打电话说的地铁施工扰民的事怎么样了",
        "我的投诉有结果了吗",
        "工单号GD2026112900012的改造问题进展",
        "我之前投诉的工地夜间施工现在处理了吗",
        *nlu_examples(TICKETS, "check_ticket"),
    ],
)
def test_own_requests_stay_lookups(text: str) -> None:
    assert not is_public_progress_question(text)


def _tracker(text: str) -> Tracker:
    return Tracker(
        sender_id="own-1",
        slots={},
        latest_message={"text": text, "intent": {"name": "check_ticket", "confidence": 0.9}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_the_lookup_action_hands_public_progress_to_department_routing() -> None:
    events = await ActionStartTicketLookup().run(
        CollectingDispatcher(), _tracker("地铁8号线什么时候通车"), {}
    )
    assert events == [{"event": "followup", "timestamp": None, "name": "action_answer_department"}]


async def test_the_lookup_action_starts_the_form_for_an_own_request() -> None:
    events = await ActionStartTicketLookup().run(
        CollectingDispatcher(), _tracker("我反映的路灯问题怎么样了"), {}
    )
    assert {"event": "followup", "timestamp": None, "name": "ticket_form"} in events
