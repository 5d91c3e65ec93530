"""From a catalogue row (any column names) to a checked Standard or KnowledgePoint.

Columns are recognised by their usual Chinese and English names (标准号, 标准名称, 标准状态,
发布日期, 实施日期, 代替标准, 被代替标准, 归口单位 …, the camelCase names of public catalogue
exports, and this project's own field names); an explicit mapping overrides them. Every
value that cannot be used is reported with the row's line number; values that are merely
suspicious (a technical-committee code where a replacing standard should be) are dropped
with a warning, never silently.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.knowledge.models import Entry, KnowledgePoint, Standard, Status
from bot.knowledge.numbers import (
    TYPE_ENTERPRISE,
    TYPE_GROUP,
    TYPE_INDUSTRY,
    TYPE_LOCAL,
    TYPE_NATIONAL,
    find_standard_numbers,
    parse_standard_number,
)

STANDARD_FIELDS: dict[str, tuple[str, ...]] = {
    "number": ("标准号", "标准编号", "标准代号", "code", "number", "standard_number", "stdno"),
    "title": ("标准名称", "中文名称", "标准中文名称", "名称", "title", "name", "title_cn"),
    "title_en": ("英文名称", "标准英文名称", "英文标题", "title_en", "english_title", "entitle"),
    "standard_type": ("标准类型", "标准类别", "标准级别", "类型", "类别", "type", "standard_type"),
    "status": ("标准状态", "状态", "现行状态", "status", "state"),
    "issued": ("发布日期", "发布时间", "issued", "issuedate", "issue_date", "publishdate"),
    "implemented": ("实施日期", "实施时间", "implemented", "implementdate", "implement_date"),
    "withdrawn": ("废止日期", "作废日期", "withdrawn", "abolishdate", "abolish_date"),
    "replaces": ("代替标准", "替代标准", "代替", "replaces", "replace"),
    "replaced_by": ("被代替标准", "被替代标准", "被代替", "replaced_by", "replacedby"),
    "issuer": ("发布单位", "发布机构", "发布部门", "issuer", "issuedby", "归口单位", "主管部门"),
    "ccs": ("ccs", "中国标准分类号", "ccs分类号", "中标分类"),
    "ics": ("ics", "国际标准分类号", "ics分类号"),
    "scope": ("适用范围", "范围", "摘要", "scope", "abstract"),
    "source": ("来源", "链接", "source", "url"),
}

KNOWLEDGE_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("知识编号", "编号", "id", "序号"),
    "category": ("类目", "类目路径", "分类", "知识分类", "category"),
    "title": ("标题", "知识标题", "问题", "title", "question"),
    "content": ("内容", "正文", "答案", "答复内容", "content", "answer"),
    "issuer": ("发文单位", "发布单位", "issuer"),
    "material_type": ("材料性质", "材料类型", "文件性质", "material_type"),
    "keywords": ("关键字", "关键词", "keywords", "keyword"),
    "department": ("责任部门", "所属部门", "承办单位", "部门", "department"),
    "effective": ("生效日期", "有效期起", "施行日期", "effective"),
    "expires": ("失效日期", "有效期至", "截止日期", "expires"),
    "reviewed": ("审核日期", "最后审核日期", "更新日期", "核对日期", "reviewed"),
    "source": ("来源", "链接", "source", "url"),
}

_TYPE_SPELLINGS = {
    TYPE_NATIONAL: ("国家标准", "国标", "national"),
    TYPE_INDUSTRY: ("行业标准", "行标", "industry"),
    TYPE_LOCAL: ("地方标准", "地标", "local"),
    TYPE_GROUP: ("团体标准", "团标", "group", "association"),
    TYPE_ENTERPRISE: ("企业标准", "企标", "enterprise"),
}

_KEYWORD_SPLIT = re.compile(r"[,，、;；|\s]+")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


class RowError(ValueError):
    """A value that makes the row unusable; the message is for the import report."""


def header_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[\s_\-/()（）:：*]", "", folded)


def field_lookup(
    aliases: Mapping[str, tuple[str, ...]], mapping: Mapping[str, str]
) -> dict[str, str]:
    """header key -> field name, explicit mapping first."""
    lookup: dict[str, str] = {}
    for field, names in aliases.items():
        for alias in names:
            lookup.setdefault(header_key(alias), field)
    for header, field in mapping.items():
        lookup[header_key(header)] = field
    return lookup


def map_row(row: Mapping[str, Any], lookup: Mapping[str, str]) -> dict[str, Any]:
    """The row's values under field names; the first non-empty column wins for a field."""
    fields: dict[str, Any] = {}
    for header, value in row.items():
        field = lookup.get(header_key(header))
        if field is None or _blank(value):
            continue
        fields.setdefault(field, value)
    return fields


def recognised(headers: list[str], lookup: Mapping[str, str]) -> set[str]:
    return {lookup[k] for k in (header_key(h) for h in headers) if k in lookup}


def build_standard(fields: Mapping[str, Any], warnings: list[str]) -> Standard:
    raw_number = _text(fields.get("number"))
    if not raw_number:
        raise RowError("缺少标准号")
    number = parse_standard_number(raw_number)
    if number is None:
        raise RowError(f"无法识别的标准号“{raw_number}”")
    title = _text(fields.get("title"))
    if not title:
        raise RowError(f"{number.canonical} 缺少标准名称")
    if _blank(fields.get("status")):
        raise RowError(f"{number.canonical} 缺少标准状态")
    try:
        status = Status.parse(_text(fields["status"]))
    except ValueError as exc:
        raise RowError(str(exc)) from None
    issued = parse_date(fields.get("issued"), "发布日期")
    implemented = parse_date(fields.get("implemented"), "实施日期")
    withdrawn = parse_date(fields.get("withdrawn"), "废止日期")
    if issued and implemented and implemented < issued:
        warnings.append(f"{number.canonical} 的实施日期早于发布日期，请核对")
    canonical = number.canonical
    return Standard(
        number=canonical,
        title=title,
        status=status,
        title_en=_text(fields.get("title_en")),
        standard_type=_standard_type(fields.get("standard_type"), number.standard_type, warnings),
        issued=issued,
        implemented=implemented,
        withdrawn=withdrawn,
        replaces=_numbers(fields.get("replaces"), canonical, "代替标准", warnings),
        replaced_by=_numbers(fields.get("replaced_by"), canonical, "被代替标准", warnings),
        issuer=_text(fields.get("issuer")),
        ccs=_text(fields.get("ccs")),
        ics=_text(fields.get("ics")),
        scope=_text(fields.get("scope")),
        source=_text(fields.get("source")),
    )


def build_knowledge_point(fields: Mapping[str, Any], warnings: list[str]) -> KnowledgePoint:
    title = _text(fields.get("title"))
    content = _text(fields.get("content"))
    if not title:
        raise RowError("缺少标题")
    if not content:
        raise RowError(f"“{title}”缺少内容")
    point_id = _text(fields.get("id")) or "kp:" + hashlib.sha1(title.encode()).hexdigest()[:12]
    effective = parse_date(fields.get("effective"), "生效日期")
    expires = parse_date(fields.get("expires"), "失效日期")
    if effective and expires and expires < effective:
        warnings.append(f"“{title}”的失效日期早于生效日期，请核对")
    return KnowledgePoint(
        id=point_id,
        title=title,
        content=content,
        category=_category(fields.get("category")),
        issuer=_text(fields.get("issuer")),
        material_type=_text(fields.get("material_type")),
        keywords=_keywords(fields.get("keywords")),
        department=_text(fields.get("department")),
        effective=effective,
        expires=expires,
        reviewed=parse_date(fields.get("reviewed"), "审核日期"),
        source=_text(fields.get("source")),
    )


def build_entry(
    row: Mapping[str, Any],
    kind: str,
    lookups: tuple[Mapping[str, str], Mapping[str, str]],
    warnings: list[str],
) -> Entry:
    """``kind`` is standard, knowledge or auto (a row with a standard number is a standard)."""
    standard_fields = map_row(row, lookups[0])
    if kind == "standard" or (kind == "auto" and "number" in standard_fields):
        return build_standard(standard_fields, warnings)
    knowledge_fields = map_row(row, lookups[1])
    if kind == "knowledge" or "content" in knowledge_fields:
        return build_knowledge_point(knowledge_fields, warnings)
    raise RowError("无法判断是标准还是知识点：既没有标准号，也没有内容")


def parse_date(value: Any, label: str) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.split("T")[0].split(" ")[0]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                break
    raise RowError(f"{label}“{value}”不是有效日期（应为 2016-12-13 这样的格式）")


def _numbers(value: Any, own: str, label: str, warnings: list[str]) -> tuple[str, ...]:
    if _blank(value):
        return ()
    parts = value if isinstance(value, list | tuple) else re.split(r"[,，、;；\n]+", str(value))
    found: list[str] = []
    for part in parts:
        if _blank(part):
            continue
        numbers = find_standard_numbers(str(part))
        if not numbers:
            warnings.append(f"{own} 的{label}“{part}”不是标准号，已忽略")
        for number in numbers:
            if number.canonical == own:
                warnings.append(f"{own} 的{label}指向它自己，已忽略")
            elif number.canonical not in found:
                found.append(number.canonical)
    return tuple(found)


def _standard_type(value: Any, implied: str, warnings: list[str]) -> str:
    if _blank(value):
        return implied
    text = _text(value).lower()
    for name, spellings in _TYPE_SPELLINGS.items():
        if text in spellings:
            return name
    warnings.append(f"标准类型“{value}”无法识别，已按标准号判断为{implied}")
    return implied


def _category(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "/".join(_text(v) for v in value if not _blank(v))
    return re.sub(r"\s*[>＞/／|]\s*", "/", _text(value))


def _keywords(value: Any) -> tuple[str, ...]:
    if _blank(value):
        return ()
    parts = value if isinstance(value, list | tuple) else _KEYWORD_SPLIT.split(str(value))
    return tuple(dict.fromkeys(_text(p) for p in parts if not _blank(p)))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split()) if not isinstance(value, str) else value.strip()


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip().lower() in ("null", "none", "nan", "-", "/")
    if isinstance(value, list | tuple):
        return not any(not _blank(v) for v in value)
    return False
