"""Contact phone validation (mainland mobile and landline) and order/acceptance numbers."""

from __future__ import annotations

from datetime import date

import pytest

from bot.workorders.numbers import (
    NumberSpaceExhausted,
    find_number,
    format_number,
    is_acceptance_no,
    is_order_no,
)
from bot.workorders.phone import InvalidPhone, PhoneKind, validate_phone


@pytest.mark.parametrize(
    ("raw", "number", "kind"),
    [
        ("13812345678", "13812345678", PhoneKind.MOBILE),
        ("138 1234 5678", "13812345678", PhoneKind.MOBILE),
        ("+86 138-1234-5678", "13812345678", PhoneKind.MOBILE),
        ("008619912345678", "19912345678", PhoneKind.MOBILE),
        ("１３８１２３４５６７８", "13812345678", PhoneKind.MOBILE),
        ("16612345678", "16612345678", PhoneKind.MOBILE),
        ("0531-86081234", "0531-86081234", PhoneKind.LANDLINE),
        ("（0531）8608 1234", "0531-86081234", PhoneKind.LANDLINE),
        ("0531-86081234转123", "0531-86081234-123", PhoneKind.LANDLINE),
        ("010-62345678", "010-62345678", PhoneKind.LANDLINE),
        ("021 5555 1234", "021-55551234", PhoneKind.LANDLINE),
        ("0543-3211234", "0543-3211234", PhoneKind.LANDLINE),  # 7-digit local number
        ("+86 531 86081234", "0531-86081234", PhoneKind.LANDLINE),
    ],
)
def test_valid_numbers_are_canonical(raw: str, number: str, kind: PhoneKind) -> None:
    phone = validate_phone(raw)
    assert (phone.number, phone.kind) == (number, kind)


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("", "联系电话"),
        ("1381234567", "11 位"),
        ("138123456789", "11 位"),
        ("12345678901", "号段"),
        ("14012345678", "号段"),  # 140 is an IoT/data segment, no voice calls
        ("86081234", "区号"),
        ("4008123123", "400/800"),
        ("010-12345678", "格式不正确"),  # Beijing numbers never start with 1
        ("0531-0608123", "格式不正确"),
        ("abc", "只能包含数字"),
        ("13812345678转12", "不需要分机号"),
        ("+1 415 555 0100", "中国大陆"),
    ],
)
def test_invalid_numbers_say_why(raw: str, hint: str) -> None:
    with pytest.raises(InvalidPhone) as raised:
        validate_phone(raw)
    assert hint in raised.value.message


def test_order_and_acceptance_numbers() -> None:
    assert format_number("GD", date(2026, 11, 29), 12) == "GD2026112900012"
    assert is_order_no("GD2026112900012") and not is_order_no("GD202611290001")
    assert is_acceptance_no("SL2026112900003") and not is_acceptance_no("GD2026112900003")
    with pytest.raises(NumberSpaceExhausted):
        format_number("GD", date(2026, 11, 29), 100000)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("我的工单号是GD2026112900012，请帮我查一下", "GD2026112900012"),
        ("gd 20261129 00012", "GD2026112900012"),
        ("受理号 SL2026112900003", "SL2026112900003"),
        ("电话13812345678", None),
        ("XGD2026112900012", None),
    ],
)
def test_numbers_found_in_free_text(text: str, number: str | None) -> None:
    assert find_number(text) == number
