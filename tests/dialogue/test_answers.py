"""Reading the citizen's answers to the forms' questions, and their first message."""

from __future__ import annotations

import pytest

from bot.workorders.dialogue.answers import (
    Choice,
    Decision,
    Unclear,
    is_quit,
    read_confidential,
    read_consent,
    read_decision,
    read_location,
    read_matter,
    read_name,
    read_note,
    read_number,
    read_phone,
    read_rating,
    read_request_type,
    read_ticket_ref,
    read_unit,
)
from bot.workorders.dialogue.intake import (
    address_from,
    first_comment,
    first_matter,
    first_supplement,
    is_only_a_district,
    location_spans,
    place_spans,
    without_place,
)
from bot.workorders.dialogue.summary import STAFF_CHOOSE, UnitOption
from bot.workorders.models import Rating
from tests.dialogue.conversation import entities_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("我的电话是 138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0531-86081234", "0531-86081234"),
        ("座机053186081234转12", "0531-86081234-12"),
        ("１３８１２３４５６７８", "13812345678"),
    ],
)
def test_phone_numbers_are_read_in_canonical_form(text: str, expected: str) -> None:
    assert read_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("138123", "11 位"),
        ("我的电话是12345678901", "号段"),
        ("86081234", "区号"),
        ("4008123456", "400"),
        ("不想留电话", "取消"),
        ("你们打给我家里人吧", "电话号码"),
    ],
)
def test_a_wrong_phone_is_refused_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(Unclear) as refused:
        read_phone(text)
    assert hint in refused.value.message


def test_the_phone_the_nlu_found_is_preferred() -> None:
    assert read_phone("打这个13912345678，白天都在", ["13912345678"]) == "13912345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("同意", True),
        ("可以的", True),
        ("行，打吧", True),
        ("不同意", False),
        ("不可以", False),
        ("别给我打电话", False),
        ("不方便接电话", False),
    ],
)
def test_consent_to_be_called(text: str, expected: bool) -> None:
    assert read_consent(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("需要保密", True),
        ("保密", True),
        ("不要透露我的名字", True),
        ("匿名吧", True),
        ("不需要保密", False),
        ("不用保密", False),
        ("不需要", False),
        ("无所谓", False),
    ],
)
def test_confidentiality(text: str, expected: bool) -> None:
    assert read_confidential(text) is expected


def test_an_unclear_yes_or_no_is_asked_again() -> None:
    with pytest.raises(Unclear) as unclear:
        read_consent("这个问题我得想想")
    assert "同意" in unclear.value.message
    with pytest.raises(Unclear):
        read_confidential("啥意思")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("王女士", "王女士"),
        ("我姓王", "姓王"),
        ("叫我小李就行", "小李"),
        ("我叫张伟", "张伟"),
        ("跳过", ""),
        ("不用了", ""),
        ("匿名", ""),
    ],
)
def test_names_and_skipping_them(text: str, expected: str) -> None:
    assert read_name(text) == expected


def test_a_name_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(Unclear):
        read_name("13812345678")
    with pytest.raises(Unclear):
        read_name("我家楼下那个烧烤摊天天晚上吵得人睡不着觉")


def test_places() -> None:
    assert read_location("在历下区泉城路123号") == "历下区泉城路123号"
    assert read_location("地点是：槐荫区经十路和二环西路路口") == "槐荫区经十路和二环西路路口"
    with pytest.raises(Unclear) as unknown:
        read_location("不清楚")
    assert "大概" in unknown.value.message
    assert read_location("投诉中心旁边的停车场") == "投诉中心旁边的停车场"


def test_a_request_said_again_is_not_taken_for_the_place() -> None:
    for not_a_place in ("我要投诉", "你好，在吗", "我想举报一下"):
        with pytest.raises(Unclear) as asked_again:
            read_location(not_a_place)
        assert "发生在哪里" in asked_again.value.message


def test_a_matter_needs_substance() -> None:
    assert read_matter("楼下烧烤店油烟太大。") == "楼下烧烤店油烟太大"
    for vague in ("我要投诉", "有个问题", "噪音"):
        with pytest.raises(Unclear):
            read_matter(vague)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("满意", Rating.SATISFIED),
        ("非常满意，谢谢", Rating.SATISFIED),
        ("基本满意", Rating.BASICALLY_SATISFIED),
        ("还行吧", Rating.BASICALLY_SATISFIED),
        ("不满意", Rating.DISSATISFIED),
        ("问题根本没解决", Rating.DISSATISFIED),
    ],
)
def test_ratings(text: str, expected: Rating) -> None:
    assert read_rating(text) is expected


def test_numbers_and_lookups() -> None:
    assert read_number("工单号是gd 20261129 00012") == "GD2026112900012"
    assert read_ticket_ref("SL2026112900003") == "SL2026112900003"
    assert read_ticket_ref("用13812345678查") == "13812345678"
    with pytest.raises(Unclear):
        read_number("我忘了")


def test_whole_message_quits_but_descriptions_do_not() -> None:
    for text in ("不办了", "取消", "算了，不登记了", "先不提交了吧", "不想反映了"):
        assert is_quit(text), text
    for text in ("公交站点取消了", "不办了也不说一声", "我要取消预约，但系统打不开"):
        assert not is_quit(text), text


def test_optional_notes() -> None:
    assert read_note("跳过", optional=True) == ""
    assert read_note("还是很吵", optional=True) == "还是很吵"
    with pytest.raises(Unclear):
        read_note("嗯", optional=False)


CANDIDATES = ["GD2026112900007"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("确认提交", Decision(Choice.SUBMIT)),
        ("好的", Decision(Choice.SUBMIT)),
        ("不用并单，单独提交", Decision(Choice.SUBMIT)),
        ("不用修改，提交吧", Decision(Choice.SUBMIT)),
        ("取消", Decision(Choice.CANCEL)),
        ("算了不提交了", Decision(Choice.CANCEL)),
        ("修改", Decision(Choice.WHICH_FIELD)),
        ("不对", Decision(Choice.WHICH_FIELD)),
        ("修改地点", Decision(Choice.MODIFY, "location")),
        ("电话写错了", Decision(Choice.MODIFY, "phone_number")),
        ("修改联系电话", Decision(Choice.MODIFY, "phone_number")),
        ("修改是否同意联系", Decision(Choice.MODIFY, "consent_contact")),
        ("修改是否保密", Decision(Choice.MODIFY, "confidential")),
        ("改一下诉求内容", Decision(Choice.MODIFY, "matter")),
        ("修改诉求类型", Decision(Choice.MODIFY, "request_type")),
        ("类型不对", Decision(Choice.MODIFY, "request_type")),
        ("修改承办单位", Decision(Choice.MODIFY, "department")),
        ("部门派错了", Decision(Choice.MODIFY, "department")),
        ("并入工单GD2026112900007", Decision(Choice.MERGE, "GD2026112900007")),
        ("合并吧", Decision(Choice.MERGE, "GD2026112900007")),
    ],
)
def test_decisions_after_the_summary(text: str, expected: Decision) -> None:
    assert read_decision(text, CANDIDATES) == expected
    assert Decision.decode(expected.encode()) == expected


def test_only_offered_orders_can_be_merged_into() -> None:
    with pytest.raises(Unclear):
        read_decision("并入工单GD2026112900099", CANDIDATES)
    with pytest.raises(Unclear):
        read_decision("合并", [])
    with pytest.raises(Unclear):
        read_decision("今天天气怎么样", CANDIDATES)


def test_the_first_message_gives_the_matter_only_when_it_describes_one() -> None:
    assert first_matter("我要投诉，小区楼下烧烤店油烟太大，天天熏得没法开窗") == (
        "小区楼下烧烤店油烟太大，天天熏得没法开窗"
    )
    assert first_matter("我要投诉") is None
    assert first_matter("你好，我想反映个问题") is None


def test_the_address_is_taken_around_the_places_named() -> None:
    text = "我要投诉历下区泉城路123号附近的烧烤店，油烟太大"
    assert address_from(text, location_spans(entities_in(text))) == "历下区泉城路123号附近"
    text = "我住在历城区，但是问题出在槐荫区经十路口"
    assert address_from(text, location_spans(entities_in(text))) == "槐荫区经十路口"
    assert address_from("楼下烧烤店", location_spans(entities_in("楼下烧烤店"))) == ""
    text = "孩子户口在历下区但房子在高新区，入学去哪报名"
    found = address_from(text, location_spans(entities_in(text)))
    assert found in {"历下区", "高新区"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我要投诉，地址在历下区****路**号", "历下区****路**号"),
        ("我要投诉，地址在历下区××路××号", "历下区××路××号"),
        ("历下区****小区*号楼门口的垃圾好几天没人清", "历下区****小区*号楼门口"),
        ("我是市中区*****胡同的居民，胡同里的路灯坏了", "市中区*****胡同"),
        (
            "本人地址：****市-****区-*****路****号-*****公寓。门口垃圾没人清",
            "****市-****区-*****路****号-*****公寓",
        ),
        ("****区*****小区**号楼有住户装修，早上不到8点就开始", "****区*****小区**号楼"),
        ("在****市场买的菜不新鲜", ""),
        ("我家在历下区，泉城路123号的烧烤店油烟大", "历下区，泉城路123号"),
        ("****区做法不对，****小区**号楼门口堆满了垃圾", "****小区**号楼门口"),
        ("****路****小区，****小区都停水了", "****路****小区"),
        ("****区域内的路灯都不亮", ""),
    ],
)
def test_masked_names_and_numbers_stay_part_of_the_address(text: str, expected: str) -> None:
    """Real records mask names, even a district's, with asterisks: the citizen still said
    where, and is not asked again. A masked word that is no place (****市场) stays out."""
    assert address_from(text, place_spans(text, entities_in(text))) == expected


def test_a_district_alone_is_no_place_to_send_anyone_to() -> None:
    assert is_only_a_district("历下区") and is_only_a_district("*********区")
    assert is_only_a_district("****市****区")
    assert not is_only_a_district("****区****街****号院")
    assert not is_only_a_district("历下区泉城路123号")


def test_a_message_that_only_gives_the_place_describes_no_matter() -> None:
    assert (
        first_matter(without_place("我要投诉，地址在历下区****路**号", "历下区****路**号")) is None
    )
    assert first_matter(without_place("在历下区泉城路123号", "历下区泉城路123号")) is None
    left = without_place("历下区泉城路123号的烧烤店油烟太大", "历下区泉城路123号")
    assert first_matter(left) == "的烧烤店油烟太大"


def test_supplements_and_comments_in_the_first_message() -> None:
    assert first_supplement("GD2026112900012 补充一下：烧烤摊晚上十二点以后还在营业") == (
        "烧烤摊晚上十二点以后还在营业"
    )
    assert first_supplement("我要补充情况") is None
    assert first_comment("GD2026112900012 不满意，路灯还是不亮") == "不满意，路灯还是不亮"
    assert first_comment("不满意") is None


def test_choosing_the_type_at_the_summary() -> None:
    assert read_request_type("举报", "投诉") == "举报"
    assert read_request_type("不是投诉，是举报", "投诉") == "举报"
    assert read_request_type("我也不确定", "投诉") == "投诉"  # the prediction stands
    with pytest.raises(Unclear, match="咨询、求助、投诉、举报、建议、表扬"):
        read_request_type("确认提交", "投诉")


def test_choosing_the_unit_at_the_summary() -> None:
    units = (
        UnitOption("济南市城市管理局（市综合行政执法局）", "城管局"),
        UnitOption("济南市生态环境局", "生态环境局"),
    )
    assert read_unit("济南市生态环境局", units) == "济南市生态环境局"
    assert read_unit("给城管局吧", units) == "济南市城市管理局（市综合行政执法局）"
    assert read_unit("城市管理局", units) == "济南市城市管理局（市综合行政执法局）"
    assert read_unit(STAFF_CHOOSE, units) == ""
    assert read_unit("不知道，你们判断吧", units) == ""
    with pytest.raises(Unclear, match="工作人员判断"):
        read_unit("教育局", units)  # never a unit that was not offered


def test_a_masked_phone_is_asked_for_in_full() -> None:
    with pytest.raises(Unclear, match="完整的电话号码"):
        read_phone("我姓王，电话138****1234")
