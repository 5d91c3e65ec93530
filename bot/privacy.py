"""Masking of personal data in logs, console views and exports.

Masking is applied wherever text leaves the process for a human to read, so that a log
line, a console page or a CSV file never shows a citizen's full numbers by accident.

What is recognised, and how false alarms are kept down:
- resident ID numbers (GB 11643-1999: 18 characters with a real birth date) — masked even
  when the ISO 7064 MOD 11-2 check character is wrong, because a citizen's typo in one
  digit still reveals the rest; an 18-digit number without a birth date is not an ID;
- bank card numbers (16–19 digits, spaces or hyphens allowed) passing the Luhn check;
- mobile numbers (with or without +86 and separators) and landlines with an area code;
- e-mail addresses;
- licence plates (鲁A12345, new-energy 鲁AD12345 / 鲁A12345D);
- the detailed part of an address: house numbers after a road (经十路12345号), building,
  unit and room (3号楼2单元501室, 5栋, 6-2-501). The road or community name is kept so the
  place stays meaningful for the supervisor; the numbers that identify a household are not.
Masking is idempotent: masked text passes through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")
_BANK_CARD = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){15,18}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})([ -]?)(\d{3,4})(\d{4})(?!\d)")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}"
)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(
    rf"(?<![A-Za-z0-9])([{_PROVINCES}][A-Za-z])[·・. ]?([A-Za-z0-9]{{5,6}})(?![A-Za-z0-9])"
)
_NUM = r"(?:\d{1,5}|[一二三四五六七八九十百零〇两]{1,6})"
_ROAD_NUMBER = re.compile(
    rf"(?<=[\u4e00-\u9fff])(?:路|街|大街|大道|巷|胡同|弄|里|村|庄|屯)(?:{_NUM}[-之])?{_NUM}号(?:院|楼)?"
)
_BUILDING = re.compile(
    rf"{_NUM}(?:号楼|栋|幢|座|号院|区)(?:[-—]?{_NUM}(?:单元|门|层|楼))*(?:[-—]?\d{{1,5}}(?:室|户|房|号)?)?"
)
_UNIT_ROOM = re.compile(rf"{_NUM}单元(?:[-—]?{_NUM}(?:层|楼))?(?:[-—]?\d{{1,5}}(?:室|户|房|号)?)?")
_ROOM = re.compile(r"(?<![0-9A-Za-z])\d{3,5}(?:室|户)")
_DASHED = re.compile(r"(?<=[小区花园家园公寓苑庭城院楼舍])\d{1,3}[-—]\d{1,2}[-—]\d{2,5}(?![0-9])")
_DIGITS = re.compile(r"[0-9一二三四五六七八九十百零〇两]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    masked: str


def plausible_id_number(number: str) -> bool:
    """The shape of a GB 11643 resident ID with a real birth date, whatever its check
    character: what masking needs, since a mistyped ID is still the citizen's."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def valid_id_number(number: str) -> bool:
    """GB 11643 resident ID: plausible birth date and a correct check character."""
    if not plausible_id_number(number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _id_spans(text: str) -> Iterator[Span]:
    for m in _ID_NUMBER.finditer(text):
        if plausible_id_number(m.group()):
            yield Span(m.start(), m.end(), "id_number", f"{m.group()[:6]}{'*' * 8}{m.group()[-4:]}")


def _card_spans(text: str) -> Iterator[Span]:
    for m in _BANK_CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if luhn_valid(digits):
            yield Span(
                m.start(),
                m.end(),
                "bank_card",
                f"{digits[:4]}{'*' * (len(digits) - 8)}{digits[-4:]}",
            )


def _mobile_spans(text: str) -> Iterator[Span]:
    for m in _MOBILE.finditer(text):
        yield Span(m.start(), m.end(), "phone", f"{m.group(1)}****{m.group(3)}")


def _landline_spans(text: str) -> Iterator[Span]:
    for m in _LANDLINE.finditer(text):
        yield Span(m.start(), m.end(), "phone", f"{m.group(1)}{m.group(2)}****{m.group(4)}")


def _email_spans(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        domain = m.group().split("@", 1)[1]
        yield Span(m.start(), m.end(), "email", f"{m.group(1)}***@{domain}")


def _plate_spans(text: str) -> Iterator[Span]:
    for m in _PLATE.finditer(text):
        tail = m.group(2)
        if tail.isalpha():  # 鲁ABCDEF is a word, not a plate
            continue
        yield Span(
            m.start(),
            m.end(),
            "licence_plate",
            f"{m.group(1).upper()}{'*' * (len(tail) - 1)}{tail[-1].upper()}",
        )


def _address_spans(text: str) -> Iterator[Span]:
    for pattern in (_ROAD_NUMBER, _BUILDING, _UNIT_ROOM, _DASHED, _ROOM):
        for m in pattern.finditer(text):
            yield Span(m.start(), m.end(), "address", _DIGITS.sub("*", m.group()))


_DETECTORS: tuple[Callable[[str], Iterator[Span]], ...] = (
    _id_spans,
    _card_spans,
    _mobile_spans,
    _landline_spans,
    _email_spans,
    _plate_spans,
    _address_spans,
)


def find_personal_data(text: str) -> list[Span]:
    """Non-overlapping spans, earlier detectors winning (an ID is not also a card)."""
    taken: list[Span] = []
    for detect in _DETECTORS:
        for span in detect(text):
            if all(span.end <= t.start or span.start >= t.end for t in taken):
                taken.append(span)
    return sorted(taken, key=lambda s: s.start)


def mask_personal_data(text: str) -> str:
    spans = find_personal_data(text)
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for span in spans:
        parts.append(text[position : span.start])
        parts.append(span.masked)
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


def mobile_numbers(text: str) -> list[str]:
    """Mobile numbers in ``text`` as 11 digits, however they were written (139-1234-5678,
    139 1234 5678, +86 139…), so that a search for one form finds the others."""
    return ["".join(m.groups()) for m in _MOBILE.finditer(text)]


def canonical_mobiles(text: str) -> str:
    """``text`` with every mobile number written as its 11 digits."""
    return _MOBILE.sub(lambda m: "".join(m.groups()), text)


def canonical_mobile(text: str) -> str | None:
    """The 11 digits when ``text`` is one mobile number and nothing else, else None."""
    found = _MOBILE.fullmatch(text.strip())
    return "".join(found.groups()) if found else None


def mask_identifier(identifier: str) -> str:
    """A search term as the audit log may keep it: personal numbers masked, and a sender id
    (WeChat openid, web session) cut to its ends, since it identifies the citizen too."""
    masked = mask_personal_data(identifier)
    if masked != identifier:
        return masked
    keep = min(4, len(identifier) // 4)
    hidden = len(identifier) - 2 * keep
    return identifier[:keep] + "*" * hidden + identifier[keep + hidden :]


def contains_personal_data(text: str) -> bool:
    return bool(find_personal_data(text))


def mask_value(value: Any) -> Any:
    """Masks every string inside a JSON-like value (entities, buttons, metadata)."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    return value
