"""What the first message of a request already tells: its type, the matter, the place.

A citizen who writes "我要投诉，历下区泉城路123号的烧烤店油烟太大" should not be asked again
what happened and where; one who writes only "我要投诉" should be. These functions decide
what can be taken over from the message that started a request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.workorders.dialogue.answers import meaningful_chars, tidy

# The intents that start a request, and the request type (诉求类型) each one implies.
REQUEST_INTENTS: Mapping[str, str] = {
    "complain": "投诉",
    "report": "举报",
    "seek_help": "求助",
    "suggest": "建议",
    "praise": "表扬",
}

# A first message needs this much substance to be taken as the description of the matter.
MIN_FIRST_MATTER_CHARS = 6

_LEAD_IN = re.compile(
    r"^(?:(?:你好|您好|喂|在吗|12345)[,，。!！\s]*)*"
    r"(?:我(?:要|想|想要|需要)?|想)?(?:投诉|举报|反映|求助|建议|表扬|提个?建议)"
    r"(?:一下|个事情|个事儿|个事|一个问题|个问题|点情况|个情况|一件事情|一件事|件事情?)?"
    r"[,，:：。!！\s]+"
)


# A message this long describes a matter even when the NLU cannot tell which kind of request
# it is: it is answered from the knowledge base or taken up as a work order, never met with
# "没有完全理解" (real first messages are long, full of background, and often masked).
MIN_DESCRIBED_MATTER_CHARS = 15


def describes_matter(text: str) -> bool:
    return meaningful_chars(text) >= MIN_DESCRIBED_MATTER_CHARS


def first_matter(text: str) -> str | None:
    """The matter described in the first message, or None when it only says what kind of
    request it is ("我要投诉", "想反映个问题")."""
    if meaningful_chars(text) < MIN_FIRST_MATTER_CHARS:
        return None
    matter = tidy(_LEAD_IN.sub("", tidy(text)))
    return matter or None


@dataclass(frozen=True)
class Span:
    start: int
    end: int


# What may follow a named road or district and still be part of the address: house
# numbers ("123号", "3号楼2单元") and named spots ending like places do ("阳光花园东门",
# "路口", "附近"), but not what is said about the place ("的烧烤店", "上有个", "红绿灯坏了").
# Hotline records and citizens mask names and numbers ("历下区****路**号", "××小区"), as the
# phone reader in ``answers`` expects too: a masked name or number is still part of the address.
_MASK_CHARS = "*＊×"
_PLACE_END = (
    "十字路口|交叉口|路口|门口|东门|西门|南门|北门|大门|小区|花园|家园|新村|公寓|大厦|广场|"
    "商场|市场|中心|医院|学校|公园|附近|对面|旁边|东侧|西侧|南侧|北侧|东边|西边|南边|北边|"
    "胡同|一带|村|院|苑|庄|城|园|里|巷|弄|街|路|桥|站|门|口"
)
_ADDRESS_TAIL = re.compile(
    rf"(?:[0-9０-９A-Za-z#{_MASK_CHARS}\-]+(?:号楼|号院|号|栋|幢|单元|室|层|楼|户)?"
    r"|(?:(?![的有是在了把被让给对就都也还又很太总每那这个些上天说要想])"
    rf"[\u4e00-\u9fff{_MASK_CHARS}]){{0,6}}?"
    rf"(?:{_PLACE_END}))*"
)
# Named places further apart than this are separate mentions, not one address; so are
# places with a contrast, an alternative, a new predicate or a sentence's end between them
# ("户口在历下区但房子在高新区" names two places, not the address "历下区但房子在高新区").
# Of several mentions, the one with the most places, then the longest, is the address.
_MAX_GAP = 4
_GAP_BREAK = re.compile(r"但|而|却|或|还是|是|在|[。！？!?；;\n]")
# A comma joins two places only from a district down to what lies in it, with nothing else
# between them ("历下区，泉城路123号"); "****路，****小区" is a list and "****区做法，****小区"
# two mentions.
_LIST_COMMA = re.compile(r"[，,、]")
_MASK_RUN = re.compile(f"[{_MASK_CHARS}]+")
_ONLY_SEPARATORS = re.compile(r"[\s，,、\-－—]*")


def location_spans(entities: Iterable[Mapping[str, Any]]) -> list[Span]:
    spans = []
    for entity in entities:
        if entity.get("entity") != "location":
            continue
        start, end = entity.get("start"), entity.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            spans.append(Span(start, end))
    return sorted(spans, key=lambda span: span.start)


# A masked name followed by what kind of place it is ("****区", "*****路", "***小区"): records
# and transcripts hide road and estate names, yet the citizen did say where.
_MASKED_PLACE = re.compile(
    rf"[{_MASK_CHARS}]{{2,}}(?:街道|社区|小区|大街|大道|胡同|市|区|县|镇|乡|村|路|街|巷|里|弄|苑|园|庄)"
    r"(?![域场民级长委程])"  # ****区域, ****市场, ****市民, ****路程: not places
)


def place_spans(text: str, entities: Iterable[Mapping[str, Any]]) -> list[Span]:
    """The places the NLU found, and the masked ones it cannot know by name."""
    masked = [Span(match.start(), match.end()) for match in _MASKED_PLACE.finditer(text)]
    return sorted([*location_spans(entities), *masked], key=lambda span: span.start)


def address_from(text: str, spans: Sequence[Span]) -> str:
    """The address around the places the NLU found: 历下区 + 泉城路 + 123号附近 →
    "历下区泉城路123号附近". The longest group of nearby places wins."""
    if not spans:
        return ""
    groups: list[list[Span]] = [[spans[0]]]
    for span in spans[1:]:
        previous = groups[-1][-1]
        if _joins(text[previous.end : span.start], text[previous.start : previous.end]):
            groups[-1].append(span)
        else:
            groups.append([span])
    addresses = [(len(group), _with_tail(text, group)) for group in groups]
    return max(addresses, key=lambda found: (found[0], len(found[1])))[1]


def _joins(gap: str, previous: str) -> bool:
    if len(gap) > _MAX_GAP or _GAP_BREAK.search(gap):
        return False
    if not _LIST_COMMA.search(gap):
        return True
    broader = previous.endswith(("市", "区", "县", "镇", "乡", "街道")) and not previous.endswith(
        ("小区", "社区", "园区", "校区", "景区", "片区")
    )
    return broader and _ONLY_SEPARATORS.fullmatch(gap) is not None


def _with_tail(text: str, group: Sequence[Span]) -> str:
    tail = _ADDRESS_TAIL.match(text, group[-1].end)
    end = tail.end() if tail is not None else group[-1].end
    return text[group[0].start : end].strip()


def is_only_a_district(address: str) -> bool:
    """历下区, ****市****区: too vague to send anyone to, however long the mask."""
    bare = _MASK_RUN.sub("*", address)
    return len(bare) <= 6 and bare.endswith(("区", "县", "市"))


def without_place(text: str, address: str) -> str:
    """The message with the place and the words that introduce it taken out: what is left
    of "我要投诉，地址在历下区****路**号" is "我要投诉，", which describes no matter."""
    lead = r"(?:(?:具体|详细)?(?:地址|地点|位置)(?:是|在|为)?[:：]?|在)?\s*"
    return re.sub(lead + re.escape(address), " ", text)


_SUPPLEMENT_LEAD = re.compile(
    r"^(?:我)?(?:要|想|需要)?(?:再)?(?:补充|添加|追加|增加)(?:一下|一点|几句|点|些)?"
    r"(?:情况|材料|内容|信息|说明)?[,，:：。!！\s]*"
)
_NUMBER_WORDS = re.compile(
    r"(?:工单号?|受理号|单号|编号)?(?:是|为)?\s*[GgSs][DdLl]\s*-?\s*\d{8}\s*-?\s*\d{5}"
)


def without_number(text: str) -> str:
    return tidy(_NUMBER_WORDS.sub(" ", text))


def first_supplement(text: str) -> str | None:
    """The new information in "GD… 补充一下：烧烤摊又搬回来了", or None if there is none."""
    rest = tidy(_SUPPLEMENT_LEAD.sub("", without_number(text)))
    rest = tidy(re.sub(r"^(?:的)?(?:情况|材料|内容)[,，:：\s]*", "", rest))
    if meaningful_chars(rest) < MIN_FIRST_MATTER_CHARS:
        return None
    return rest


_RATING_WORDS = re.compile(
    r"(?:工单|办理|处理|结果|评价|打分|给个?|我对|我|对)|(?:不太|不|基本|比较|非常|很)?满意|好评|差评"
)


def first_comment(text: str) -> str | None:
    """Why the citizen rates as they do, in "GD… 不满意，路灯还是不亮", or None."""
    said = without_number(text)
    if meaningful_chars(_RATING_WORDS.sub("", said)) < 4:
        return None
    return said
