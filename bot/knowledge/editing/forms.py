"""Console form fields to a checked record and back, with the same checks as an import.

The form uses the importers' field names, so a record typed into the console is validated
exactly like a catalogue row (dates, standard numbers, statuses) with the same Chinese
messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.knowledge.importers.records import (
    RowError,
    build_knowledge_point,
    build_standard,
    parse_date,
)
from bot.knowledge.models import Entry, Kind, Provenance, Standard
from bot.knowledge.store import entry_to_json

STANDARD_FIELDS = {
    "number": "标准号",
    "title": "标准名称",
    "title_en": "英文名称",
    "standard_type": "标准类型",
    "status": "标准状态",
    "issued": "发布日期",
    "implemented": "实施日期",
    "withdrawn": "废止日期",
    "replaces": "代替标准",
    "replaced_by": "被代替标准",
    "issuer": "发布/归口单位",
    "ccs": "CCS 分类号",
    "ics": "ICS 分类号",
    "scope": "适用范围",
    "source": "来源说明",
}
KNOWLEDGE_FIELDS = {
    "id": "知识编号",
    "title": "标题",
    "content": "内容",
    "category": "类目",
    "department": "责任部门",
    "issuer": "发文单位",
    "material_type": "材料性质",
    "keywords": "关键词",
    "effective": "生效日期",
    "expires": "失效日期",
    "reviewed": "审核日期",
    "source": "来源说明",
}
PROVENANCE_FIELDS = {
    "prov_document": "来源文件",
    "prov_issuer": "发布机构",
    "prov_url": "来源网址",
    "prov_checked_on": "核对日期",
    "prov_checked_by": "核对人",
    "prov_verified": "已核实",
}
LONG_FIELDS = frozenset({"content", "scope"})


class FormError(ValueError):
    """What is wrong with the form, in words for the editor."""


def fields_of(kind: str) -> dict[str, str]:
    return STANDARD_FIELDS if kind == Kind.STANDARD.value else KNOWLEDGE_FIELDS


def entry_from_form(kind: str, form: Mapping[str, str]) -> Entry:
    if kind not in (Kind.STANDARD.value, Kind.KNOWLEDGE.value):
        raise FormError("请选择记录类型：标准或知识点。")
    values = {name: form.get(name, "").strip() for name in fields_of(kind)}
    warnings: list[str] = []
    try:
        entry: Entry = (
            build_standard(values, warnings)
            if kind == Kind.STANDARD.value
            else build_knowledge_point(values, warnings)
        )
        checked_on = parse_date(form.get("prov_checked_on"), "核对日期")
    except RowError as exc:
        raise FormError(str(exc)) from None
    provenance = Provenance(
        document=form.get("prov_document", "").strip(),
        issuer=form.get("prov_issuer", "").strip(),
        url=form.get("prov_url", "").strip(),
        checked_on=checked_on,
        checked_by=form.get("prov_checked_by", "").strip(),
        verified=form.get("prov_verified") in ("1", "on", "true"),
    )
    if provenance.url and not provenance.url.startswith(("https://", "http://")):
        raise FormError("来源网址应以 http:// 或 https:// 开头。")
    if provenance.verified and not (provenance.checked_on and provenance.checked_by):
        raise FormError("标记为“已核实”时，请填写核对日期和核对人。")
    if provenance.verified and not (provenance.document or provenance.url):
        raise FormError("标记为“已核实”时，请填写来源文件或来源网址。")
    return replace(entry, provenance=provenance)


def form_values(entry: Entry) -> dict[str, str]:
    """The record as form fields (lists joined, dates as ISO text)."""
    data = entry_to_json(entry)
    values = {name: _text(data.get(name)) for name in fields_of(entry.kind.value)}
    if isinstance(entry, Standard):
        values["status"] = entry.status.value
    provenance = data["provenance"]
    for name in PROVENANCE_FIELDS:
        values[name] = _text(provenance.get(name.removeprefix("prov_")))
    values["prov_verified"] = "1" if entry.provenance.verified else ""
    return values


def labels_of(kind: str) -> dict[str, str]:
    return {**fields_of(kind), **PROVENANCE_FIELDS}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)
