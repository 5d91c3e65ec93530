"""Request types on messages whose type any agent would agree on."""

from __future__ import annotations

import pytest

from bot.routing import REQUEST_TYPES, RequestClassifier
from bot.routing.request_type import classify_request_type

CLEAR_CASES = [
    ("请问办理居住证需要带哪些材料？", "咨询"),
    ("想了解一下公积金贷款的额度是怎么算的", "咨询"),
    ("孩子明年上初中，什么时候开始报名？", "咨询"),
    ("我要投诉这家物业，收了钱什么都不管，态度还特别恶劣", "投诉"),
    ("窗口工作人员推诿扯皮，跑了三趟都没办成", "投诉"),
    ("楼下烧烤店天天营业到凌晨，吵得根本睡不着", "投诉"),
    ("我要举报小区旁边有个黑作坊非法生产食品", "举报"),
    ("举报某公司偷排污水到河里", "举报"),
    ("家里老人突发重病没钱治疗，求求你们帮帮我们", "求助"),
    ("我们一家走投无路了，恳请政府救助", "求助"),
    ("建议在经十路和舜耕路路口增设一个过街天桥", "建议"),
    ("希望能增加几条通往高新区的公交线路，方便上班族", "建议"),
    ("我要表扬历下区政务服务中心的王老师，热情周到帮我一次办好", "表扬"),
    ("感谢社区工作人员耐心帮助我家老人办好了手续，给你们点赞", "表扬"),
]


@pytest.mark.parametrize(("message", "expected"), CLEAR_CASES)
def test_clear_request_types(message: str, expected: str) -> None:
    result = classify_request_type(message)
    assert result.request_type == expected, (message, result.alternatives)
    assert result.confidence > 0.4
    assert result.cues
    assert f"“{expected}”" in result.reason()


def test_alternatives_are_ranked_distributions() -> None:
    result = classify_request_type("请问这个政策什么时候出台？建议早点公布")
    kinds = [kind for kind, _ in result.alternatives]
    shares = [share for _, share in result.alternatives]
    assert len(kinds) == 3 and set(kinds) <= set(REQUEST_TYPES)
    assert {"咨询", "建议"} <= set(kinds)
    assert shares == sorted(shares, reverse=True)


def test_message_without_cues_is_a_low_confidence_default() -> None:
    result = classify_request_type("小区门口的井盖没了")
    assert result.request_type == "投诉"
    assert result.confidence < 0.5
    assert not result.cues
    assert "默认" in result.reason()


def test_classification_carries_type_with_department(classifier: RequestClassifier) -> None:
    result = classifier.classify("请问医保异地就医备案怎么办理？")
    assert result.request_type == "咨询"
    assert result.department is not None and result.department.id == "medical_insurance"
    assert result.type_alternatives[0][0] == "咨询"
