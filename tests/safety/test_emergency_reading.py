"""Emergencies precisely: ongoing danger gets its number; stories, hypotheses, habits and
hazards are complaints or 安全隐患 reports to be ticketed (issue 11, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.safety import Emergency, detect_emergency, emergency_reply
from bot.safety.emergency import assess_emergency
from bot.safety.evaluation import emergency_examples, mention_examples

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "safety" / "emergency_examples.yml"
NLU = ROOT / "data" / "nlu" / "safety.yml"

_EMERGENCIES = list(emergency_examples(EXAMPLES, NLU))


@pytest.mark.parametrize(("expected", "text"), _EMERGENCIES)
def test_every_emergency_example_is_caught(expected: str | None, text: str) -> None:
    found = detect_emergency(text)
    assert found is not None, f"{text}: {assess_emergency(text).reason}"
    if expected is not None:
        assert expected in (found.number, found.kind), text


@pytest.mark.parametrize("text", mention_examples(EXAMPLES))
def test_written_mentions_are_not_emergencies(text: str) -> None:
    assert detect_emergency(text) is None, f"{text}: {assess_emergency(text).reason}"


@pytest.mark.parametrize(
    "text",
    [
        # the messages named in issue 11
        "早晚高峰本来就堵，发生一点交通事故时更是水泄不通，建议拓宽",
        "小区违建的彩钢房里，充电桩失火，幸亏消防人员及时赶到，请尽快拆除",
        "去年着过火",
        "一出交通事故就堵死",
        "存在火灾隐患",
        "万一着火怎么办",
    ],
)
def test_the_reported_false_alarms_are_gone(text: str) -> None:
    assert detect_emergency(text) is None, assess_emergency(text).reason


def test_the_example_sets_are_large_enough_to_mean_something() -> None:
    assert len(_EMERGENCIES) >= 150
    assert {expected for expected, _ in _EMERGENCIES} >= {
        "110",
        "119",
        "120",
        "122",
        "drowning",
        "unspecified",
    }
    assert len(mention_examples(EXAMPLES)) >= 60


def test_now_overrides_an_earlier_report() -> None:
    assert detect_emergency("之前报过，现在又着火了，快来") is not None
    assert detect_emergency("4月23日23时刚起火，有消防人员到现场处理了") is None


def test_a_long_complaint_is_not_an_emergency_unless_the_danger_is_now() -> None:
    letter = (
        "尊敬的领导：****路每天早晚都严重拥堵，前面路口发生了车祸，整条路都堵死了，"
        "公交车半小时动不了，建议拓宽道路、增加信号灯配时，希望有关部门重视解决。"
    )
    assert detect_emergency(letter) is None
    assert detect_emergency(letter.replace("前面路口发生了车祸", "现在路口正在着火")) is not None


def test_masked_and_multiline_messages() -> None:
    assert detect_emergency("****区****路\n有人持刀抢劫\n快来") is not None
    # a new line ends a sentence: the date on the first line does not reach the second
    assert detect_emergency("2022年我反映过路灯的事\n现在楼下着火了") is not None


def test_an_unspecified_cry_for_help_lists_every_number() -> None:
    found = detect_emergency("救命")
    assert isinstance(found, Emergency)
    reply = emergency_reply(found)
    for number in ("110", "119", "120", "122"):
        assert number in reply
