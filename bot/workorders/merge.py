"""并单: is a new request the same matter at the same place as an open order?

Character bigrams suit Chinese text without a tokenizer: two reports of "XX小区3号楼门口
路灯不亮" share most bigrams even when worded differently, while reports about another
street or another problem share few. Both the place and the matter must match; the
department, when both sides know it, must be the same.

Bigrams cannot tell "经十路88号3号楼" from "经十路88号5号楼", so the address is also read
into parts (road and house number, building, unit, room): a part both addresses name must
be the same, while a part only one of them names does not count against a match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.privacy import mask_personal_data

# Words that carry no information about the matter or the place.
_NOISE = re.compile(
    r"[\s,，.。!！?？、;；:：\"'“”‘’()（）\[\]【】\-—~～…]|"
    r"您好|你好|请问|麻烦|希望|尽快|处理|解决|反映|投诉|举报|市民|一下|谢谢"
)
_DIGITS = re.compile(r"\d+")
# (part, pattern); the road's name is the group before its house number
_PARTS = (
    (
        "road",
        re.compile(r"([^\d\s,，、号]{1,12}?(?:大街|大道|路|街|巷|胡同))\s*(\d+)\s*号(?![楼院])"),
    ),
    ("building", re.compile(r"(\d+)\s*(?:号楼|号院|栋|幢|座)")),
    ("unit", re.compile(r"(\d+)\s*单元")),
    ("room", re.compile(r"(\d+)\s*(?:室|户|号房)")),
)

PLACE_THRESHOLD = 0.45
MATTER_THRESHOLD = 0.25


@dataclass(frozen=True)
class Matter:
    """The parts of a request that decide whether two requests are the same matter."""

    content: str
    address: str
    department: str = ""


@dataclass(frozen=True)
class Similarity:
    place: float
    matter: float

    @property
    def score(self) -> float:
        return round(0.5 * self.place + 0.5 * self.matter, 3)

    @property
    def is_same(self) -> bool:
        return self.place >= PLACE_THRESHOLD and self.matter >= MATTER_THRESHOLD


def _bigrams(text: str) -> frozenset[str]:
    cleaned = _NOISE.sub("", text.lower())
    if len(cleaned) < 2:
        return frozenset({cleaned}) if cleaned else frozenset()
    return frozenset(cleaned[i : i + 2] for i in range(len(cleaned) - 1))


def _overlap(left: frozenset[str], right: frozenset[str]) -> float:
    """Overlap coefficient: a short report inside a longer one still counts as the same."""
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))


def _address_parts(address: str) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """The named parts of an address, and the numbers that belong to none of them."""
    parts: dict[str, tuple[str, ...]] = {}
    rest = address
    for name, pattern in _PARTS:
        match = pattern.search(rest)
        if match is not None:
            parts[name] = match.groups()
            rest = rest[: match.start()] + " " + rest[match.end() :]
    return parts, set(_DIGITS.findall(rest))


def _same_road(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    """ "济南市经十路88号" and "经十路88号" name one road: one name ends the other."""
    (road_a, number_a), (road_b, number_b) = left, right
    return number_a == number_b and (road_a.endswith(road_b) or road_b.endswith(road_a))


def _places_agree(left: str, right: str) -> bool:
    """Different roads, house numbers, buildings, units or rooms are different places."""
    (parts_a, rest_a), (parts_b, rest_b) = _address_parts(left), _address_parts(right)
    for name in parts_a.keys() & parts_b.keys():
        a, b = parts_a[name], parts_b[name]
        if not (_same_road(a, b) if name == "road" else a == b):
            return False
    return not rest_a or not rest_b or bool(rest_a & rest_b)


def compare(new: Matter, existing: Matter) -> Similarity:
    if new.department and existing.department and new.department != existing.department:
        return Similarity(0.0, 0.0)
    if not new.address.strip() or not existing.address.strip():
        return Similarity(0.0, 0.0)
    if not _places_agree(new.address, existing.address):
        return Similarity(0.0, 0.0)
    place = _overlap(_bigrams(new.address), _bigrams(existing.address))
    matter = _overlap(_bigrams(new.content), _bigrams(existing.content))
    return Similarity(round(place, 3), round(matter, 3))


def summary(content: str, limit: int = 40) -> str:
    """A short, masked summary that may be shown to another citizen offered a merge."""
    text = mask_personal_data(" ".join(content.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reason(similarity: Similarity) -> str:
    return (
        f"地点相似度 {similarity.place:.0%}，诉求相似度 {similarity.matter:.0%}，"
        "可能是同一地点的同一问题"
    )
