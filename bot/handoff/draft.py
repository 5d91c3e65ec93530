"""A draft work order filled from what the citizen or caller said, for the agent to check.

Only what was actually said is used: the matter in the citizen's own words, a place,
a phone number and a surname when they were given, and the request type and handling
unit from the routing catalogue with its reason. Nothing is invented; an empty field is
left for the agent to fill in.

The content is written so that an agent can submit it unchanged: the clauses that say
what the matter is, once each (an ASR partial repeated by its final text counts once),
without greetings, acknowledgements ("好的") or contact details, which have their own
fields and must not travel to the handling unit in the free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bot.handoff import texts
from bot.routing import Classification

MAX_CONTENT_CHARS = 1000
_SHORT_ACKS = frozenset(
    {
        "好",
        "好的",
        "嗯",
        "嗯嗯",
        "是",
        "是的",
        "对",
        "对的",
        "谢谢",
        "好的谢谢",
        "在吗",
        "你好",
        "您好",
    }
)
_HUMAN_WORDS = re.compile(
    r"^(?:请|帮我|给我|我要|我想)?(?:转|接|找)?人工(?:客服|服务|坐席)?[!！。.]*$"
)
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[ -]?(\d{7,8})(?!\d)")
_SURNAME = re.compile(
    r"(?:我姓|免贵姓|本人姓)([\u4e00-\u9fff])|我叫([\u4e00-\u9fff]{2,3})(?=[，,。.！!\s]|$)"
)
_PLACE_WORDS = (
    *("路口", "路", "大街", "大道", "街道", "街", "巷", "胡同", "号院", "号楼", "号", "栋"),
    *("单元", "室", "小区", "花园", "家园", "苑", "社区", "村", "庄", "广场", "大厦", "市场"),
    *("商场", "学校", "小学", "中学", "医院", "公园", "车站", "门口", "附近", "对面"),
)
# Longest first, so that 号楼 wins over 号 and the place keeps its building number.
_PLACE_SUFFIX = "(?:" + "|".join(sorted(_PLACE_WORDS, key=len, reverse=True)) + ")"
_PLACE_CHAR = r"[\u4e00-\u9fffA-Za-z0-9\-]"
# After the first place word the address goes on (3号楼2单元501室) until the sentence moves
# on to something else: 的, 了 … never occur inside an address (旁边的路灯 is not a road).
_TAIL_CHAR = r"(?:(?![的了着很太都也就还又在是])[\u4e00-\u9fff0-9\-])"
# A room said without 室 ("2单元502") ends the address with its bare number.
_PLACE_BODY = (
    rf"{_PLACE_CHAR}{{{{min}},40}}?{_PLACE_SUFFIX}(?:{_TAIL_CHAR}{{0,12}}?{_PLACE_SUFFIX})*"
    r"(?:(?<=单元|号楼)\d{1,5}(?:室|号|房)?(?!\d))?"
)
_PLACE = re.compile(
    r"(?:地址(?:是|为)?[:：]?|住在|位于|家在|就在|在)(" + _PLACE_BODY.replace("{min}", "2") + ")"
)
# A clause that starts with a district or county name (历城区幸福花园5号楼…).
_DISTRICT_PLACE = re.compile(
    r"(?:^|[，,。；;！!？?\s])([\u4e00-\u9fff]{2,3}(?:区|县)"
    + _PLACE_BODY.replace("{min}", "0")
    + ")"
)


@dataclass(frozen=True)
class Draft:
    content: str
    address: str
    name: str
    phone: str
    request_type: str
    department: str
    department_id: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def citizen_statements(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """What the citizen (or caller) said about their matter, in order.

    Button payloads, requests for a human and bare acknowledgements are left out: they say
    nothing about the matter.
    """
    statements = []
    for row in rows:
        if row.get("role") != "citizen":
            continue
        text = str(row.get("text") or "").strip()
        if not text or text.startswith("/") or text in _SHORT_ACKS:
            continue
        if text in texts.CANCEL_WORDS or text in texts.NOTE_WORDS or _HUMAN_WORDS.match(text):
            continue
        statements.append(text)
    return statements


def find_phone(text: str) -> str:
    mobile = _MOBILE.search(text)
    if mobile:
        return "".join(mobile.groups())
    landline = _LANDLINE.search(text)
    return f"{landline.group(1)}-{landline.group(2)}" if landline else ""


def find_name(text: str) -> str:
    match = _SURNAME.search(text)
    if not match:
        return ""
    return match.group(1) or match.group(2) or ""


def find_address(text: str) -> str:
    matches = [m.group(1) for m in _PLACE.finditer(text)]
    matches += [m.group(1) for m in _DISTRICT_PLACE.finditer(text)]
    return max(matches, key=len) if matches else ""


# Words that open a clause without saying anything about the matter.
_OPENERS = re.compile(
    r"^(?:(?:喂|你好|您好|好的|好|嗯+|是的|对|那个|就是)[，,、\s]*)+"
    r"|^(?:我|我们)?(?:要|想|想要)?(?:投诉|举报|反映|咨询)(?:一下|一个|个|件)?(?:事|事情|问题)?$"
)
_CONTACT = re.compile(r"电话|手机|号码|联系方式|联系我|我姓|免贵|本人姓|我叫|称呼")
_CLAUSE_SPLIT = re.compile(r"[，,。；;！!？?\s]+")
_TYPE_WORDS = ("举报", "投诉")  # said outright, these settle the type whatever a model thinks
MAX_TITLE_CHARS = 18
_PLACE_PREFIX = re.compile(
    r"^(?:我|我们|我家)?(?:地址|住址|地点|位置)?(?:是|为|在|住在|位于)?[:：]?"
)


def matter_clauses(statements: Sequence[str], address: str | None = None) -> list[str]:
    """The clauses that describe the matter, in order and once each.

    Left out: openers and acknowledgements, clauses with a phone number or a name (they
    go to the contact fields), a clause that only gives the address already in its own
    field, and any clause another clause already contains (an ASR partial, a repetition).
    """
    if address is None:
        address = find_address("；".join(statements))
    clauses: list[str] = []
    for statement in statements:
        for raw in _CLAUSE_SPLIT.split(statement):
            clause = _OPENERS.sub("", raw.strip()).strip()
            if len(clause) < 2 or clause in _SHORT_ACKS:
                continue
            if find_phone(clause) or _CONTACT.search(clause) or find_name(clause):
                continue
            if address and _only_place(clause, address):
                continue
            clauses.append(clause)
    return [
        clause
        for i, clause in enumerate(clauses)
        if not any(
            clause in other and (clause != other or j < i)
            for j, other in enumerate(clauses)
            if j != i
        )
    ]


def _only_place(clause: str, address: str) -> bool:
    rest = _PLACE_PREFIX.sub("", clause.replace(address, ""))
    return len(rest) < 2


def matter_text(statements: Sequence[str], address: str = "") -> str:
    """The matter as one sentence for a work order: 市民反映：…。"""
    clauses = matter_clauses(statements, address)
    if not clauses:
        return ""
    where = f"（地点：{address}）" if address and not any(address in c for c in clauses) else ""
    return ("市民反映：" + "，".join(clauses) + where + "。")[:MAX_CONTENT_CHARS]


def matter_title(statements: Sequence[str]) -> str:
    """A few words naming the matter, for a conversation's title ("" before it is said)."""
    clauses = matter_clauses(statements)
    if not clauses:
        return ""
    title = clauses[0]  # the first thing said about the matter names it best
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def request_type_of(text: str, classification: Classification | None) -> str:
    said = next((word for word in _TYPE_WORDS if word in text), "")
    return said or (classification.request_type if classification is not None else "")


def build_draft(statements: Sequence[str], classification: Classification | None) -> Draft:
    joined = "；".join(statements)
    address = find_address(joined)
    if not address and classification is not None and classification.place is not None:
        address = classification.place.describe()
    unit = classification.department if classification is not None else None
    return Draft(
        content=matter_text(statements, address),
        address=address,
        name=find_name(joined),
        phone=find_phone(joined),
        request_type=request_type_of(joined, classification),
        department=unit.name if unit is not None else "",
        department_id=unit.id if unit is not None else "",
        reason=classification.reason if classification is not None else "",
    )


def summarise(
    statements: Sequence[str], classification: Classification | None, reason_label: str
) -> str:
    """One line for the queue: the matter, its type and unit, and why a human is needed."""
    parts = []
    matter = "，".join(matter_clauses(statements))
    if matter:
        parts.append("市民反映：" + (matter if len(matter) <= 60 else matter[:59] + "…"))
    else:
        parts.append("市民尚未描述具体问题")
    if classification is not None and matter:
        parts.append(f"类型：{request_type_of('；'.join(statements), classification)}")
        if classification.department is not None:
            parts.append(f"建议承办：{classification.department.short_name}")
    if reason_label:
        parts.append(f"转人工原因：{reason_label}")
    return "｜".join(parts)
