"""Masking of personal data: what is recognised, what is left alone, and that it is stable."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.privacy import (
    contains_personal_data,
    find_personal_data,
    luhn_valid,
    mask_identifier,
    mask_personal_data,
    mask_value,
    valid_id_number,
)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(region: str, born: date, serial: int) -> str:
    body = f"{region}{born:%Y%m%d}{serial:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def make_card(prefix: str, length: int) -> str:
    body = prefix + "0" * (length - len(prefix) - 1)
    return next(body + str(d) for d in range(10) if luhn_valid(body + str(d)))


def test_id_numbers_need_a_valid_date_and_check_character() -> None:
    good = make_id("370102", date(1990, 3, 7), 123)
    assert valid_id_number(good)
    assert valid_id_number("11010519491231002X")  # the sample number printed in GB 11643
    assert not valid_id_number(good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not valid_id_number("370102199013071238")  # month 13
    masked = mask_personal_data(f"身份证号{good}。")
    assert good not in masked and f"{good[:6]}********{good[-4:]}" in masked


def test_an_id_number_with_a_wrong_check_digit_is_still_masked() -> None:
    number = "370102199003071235"
    assert not valid_id_number(number) and not luhn_valid(number)
    assert mask_personal_data(f"身份证{number}") == "身份证370102********1235"


def test_an_eighteen_digit_number_without_a_birth_date_is_left_alone() -> None:
    number = "370102199013071235"  # month 13
    assert not luhn_valid(number)
    assert mask_personal_data(f"编号{number}") == f"编号{number}"


@pytest.mark.parametrize(
    ("term", "kept"),
    [
        ("139-1234-5678", "139****5678"),
        ("370102199003071235", "370102********1235"),
        ("wx:oAbCdEfGh123456789", "wx:o*************6789"),
        ("abc", "***"),
    ],
)
def test_search_terms_are_masked_for_the_audit_log(term: str, kept: str) -> None:
    assert mask_identifier(term) == kept


def test_bank_cards_pass_luhn_with_or_without_spaces() -> None:
    card = make_card("622202", 19)
    grouped = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    for text in (card, grouped, card.replace("0", "0", 1)):
        masked = mask_personal_data(f"卡号{text}谢谢")
        assert card not in masked.replace(" ", "")
        assert masked.startswith(f"卡号{card[:4]}") and masked.endswith(f"{card[-4:]}谢谢")
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert mask_personal_data(wrong) == wrong


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", "电话138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("座机0531-88886666", "座机0531-****6666"),
        ("邮箱zhang.san@example.com", "邮箱z***@example.com"),
        ("车牌鲁A12345", "车牌鲁A****5"),
        ("新能源鲁AD12345", "新能源鲁A*****5"),
        ("鲁a1234d", "鲁A****D"),
        ("住经十路12345号", "住经十路*****号"),
        ("阳光小区3号楼2单元501室", "阳光小区*号楼*单元***室"),
        ("幸福家园6-2-501", "幸福家园*-*-***"),
        ("泉城路二十三号", "泉城路***号"),
        ("301室漏水", "***室漏水"),
    ],
)
def test_recognised_personal_data(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "工单GD2026112900012已受理",
        "受理号SL2026112900001",
        "GB/T 33358-2016 政府热线服务规范",
        "2024年3月5日下午3点",
        "金额12345元，共30户",
        "鲁ABCDEF",
        "请拨打12345热线",
        "路灯不亮了",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text
    assert not contains_personal_data(text)


def test_spans_do_not_overlap_and_the_id_wins_over_the_card() -> None:
    number = make_id("110105", date(1949, 12, 31), 2)
    spans = find_personal_data(f"{number} 13812345678")
    assert [s.kind for s in spans] == ["id_number", "phone"]


def test_mask_value_walks_json() -> None:
    value = {"entities": [{"entity": "phone_number", "value": "13812345678"}], "n": 3}
    assert mask_value(value) == {
        "entities": [{"entity": "phone_number", "value": "138****5678"}],
        "n": 3,
    }


ids = st.builds(
    make_id,
    st.sampled_from(["370102", "110105", "440305", "510104"]),
    st.dates(min_value=date(1930, 1, 1), max_value=date.today() - timedelta(days=1)),
    st.integers(min_value=0, max_value=999),
)


@settings(max_examples=200, deadline=None)
@given(
    ids,
    st.text(alphabet="市民反映小区噪音路灯请处理，。 ", max_size=20),
    st.text(alphabet="谢谢！问题", max_size=10),
)
def test_every_valid_id_is_masked_and_masking_is_idempotent(
    number: str, before: str, after: str
) -> None:
    text = f"{before}{number}{after}"
    masked = mask_personal_data(text)
    assert number not in masked
    assert mask_personal_data(masked) == masked


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_masking_never_crashes_and_is_idempotent(text: str) -> None:
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once
