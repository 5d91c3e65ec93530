"""Validation of the contact phone a citizen gives: mainland mobile or landline.

A work order is only useful if the handling department can call back, so a number that
cannot be dialled is refused at once with a message that says how to write it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Mobile segments allocated by MIIT to CMCC, CUCC, CTCC and CBN (data-only 14x/IoT excluded).
_MOBILE = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}")
# Area codes: 010 and 02x are followed by 8-digit numbers; 0[3-9]xx by 7 or 8 digits.
# Local numbers never start with 0 or 1.
_LANDLINE = re.compile(r"(0(?:10|2\d))([2-9]\d{7})|(0[3-9]\d{2})([2-9]\d{6,7})")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-－—()（）.]+")
_COUNTRY = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$|[1-9]\d{8,10}$)")


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"


@dataclass(frozen=True)
class PhoneNumber:
    """A dialable number in canonical form: ``13812345678`` or ``0531-86081234`` (``-12``)."""

    number: str
    kind: PhoneKind


class InvalidPhone(ValueError):
    """The text is not a mainland mobile or landline number; ``message`` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_phone(raw: str) -> PhoneNumber:
    """Returns the canonical number, or raises :class:`InvalidPhone` with a polite hint."""
    text = raw.strip().translate(_FULL_WIDTH_DIGITS)
    if not text:
        raise InvalidPhone("请留下您的联系电话，方便承办单位与您联系。")
    extension = ""
    ext_match = _EXTENSION.search(text)
    if ext_match:
        extension = ext_match.group(1)
        text = text[: ext_match.start()]
    digits = _SEPARATORS.sub("", text)
    if not digits.lstrip("+").isdigit():
        raise InvalidPhone("电话号码只能包含数字，请重新输入，例如 13812345678 或 0531-86081234。")
    national = _COUNTRY.sub("", digits)
    if national != digits and not _MOBILE.fullmatch(national):
        national = "0" + national  # +86 531 … drops the trunk prefix of the area code
    digits = national
    if digits.startswith("+"):
        raise InvalidPhone("目前只能登记中国大陆的手机或固定电话号码。")
    if _MOBILE.fullmatch(digits):
        if extension:
            raise InvalidPhone("手机号码不需要分机号，请只输入 11 位手机号。")
        return PhoneNumber(digits, PhoneKind.MOBILE)
    landline = _LANDLINE.fullmatch(digits)
    if landline:
        area = landline.group(1) or landline.group(3)
        local = landline.group(2) or landline.group(4)
        number = f"{area}-{local}" + (f"-{extension}" if extension else "")
        return PhoneNumber(number, PhoneKind.LANDLINE)
    raise InvalidPhone(_hint(digits))


def _hint(digits: str) -> str:
    if digits.startswith("1"):
        if len(digits) != 11:
            return f"手机号码应为 11 位，您输入的是 {len(digits)} 位，请核对后重新输入。"
        return "这个手机号码的号段不存在，请核对后重新输入。"
    if digits.startswith(("400", "800")):
        return "请留下您本人的手机或固定电话，400/800 客服号码无法用于回访。"
    if not digits.startswith("0") and 7 <= len(digits) <= 8:
        return "固定电话请加上区号，例如 0531-86081234。"
    return "电话号码格式不正确，请输入 11 位手机号或带区号的固定电话，例如 0531-86081234。"


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋", "0123456789+")
