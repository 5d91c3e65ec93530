"""并单: is a new request the same matter at the same place as an open order?

Character bigrams suit Chinese text without a tokenizer: two reports of "XX小区3号楼门口
路灯不亮" share most bigrams even when worded differently, while reports about another
street or another problem share few. Both the place and the matter must match; the
department, when both sides know it, must be the same.
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


def _numbers_agree(left: str, right: str) -> bool:
    """ "3号楼" and "5号楼" are different places even though the text is nearly identical."""
    a, b = set(_DIGITS.findall(left)), set(_DIGITS.findall(right))
    return not a or not b or bool(a & b)


def compare(new: Matter, existing: Matter) -> Similarity:
    if new.department and existing.department and new.department != existing.department:
        return Similarity(0.0, 0.0)
    if not new.address.strip() or not existing.address.strip():
        return Similarity(0.0, 0.0)
    if not _numbers_agree(new.address, existing.address):
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
