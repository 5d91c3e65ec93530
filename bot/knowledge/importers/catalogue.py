"""Catalogue files (CSV, JSONL, XLSX) to entries, with a report line for every bad row."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.knowledge.importers.records import (
    KNOWLEDGE_FIELDS,
    STANDARD_FIELDS,
    RowError,
    build_entry,
    field_lookup,
    header_key,
)
from bot.knowledge.importers.report import ImportReport
from bot.knowledge.models import Entry

CATALOGUE_FORMATS = ("csv", "jsonl", "xlsx")
_HEADER_SCAN_ROWS = 10

Rows = Iterator[tuple[int, dict[str, Any]]]


def read_catalogue(
    path: Path,
    fmt: str,
    report: ImportReport,
    kind: str = "auto",
    mapping: Mapping[str, str] | None = None,
    progress: bool = False,
) -> list[Entry]:
    lookups = (
        field_lookup(STANDARD_FIELDS, mapping or {}),
        field_lookup(KNOWLEDGE_FIELDS, mapping or {}),
    )
    known_headers = set(lookups[0]) | set(lookups[1])
    readers = {"csv": _csv_rows, "jsonl": _jsonl_rows, "xlsx": _xlsx_rows}
    entries: dict[str, tuple[int, Entry]] = {}
    rows = readers[fmt](path, report, known_headers)
    for line, row in tqdm(rows, desc="读取", unit="条", disable=not progress):
        report.rows += 1
        warnings: list[str] = []
        try:
            entry = build_entry(row, kind, lookups, warnings)
        except RowError as exc:
            report.error(line, str(exc))
            continue
        finally:
            for message in warnings:
                report.warning(line, message)
        if entry.id in entries:
            report.warning(line, f"与第{entries[entry.id][0]}行重复（{entry.id}），以本行为准")
        entries[entry.id] = (line, entry)
    return [entry for _, entry in entries.values()]


def _jsonl_rows(path: Path, report: ImportReport, known: set[str]) -> Rows:
    text = _decode(path.read_bytes(), report)
    if text is None:
        return
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            report.rows += 1
            report.error(line_no, f"不是有效的 JSON：{exc.msg}（第{exc.colno}列）")
            continue
        if not isinstance(row, dict):
            report.rows += 1
            report.error(line_no, "这一行不是 JSON 对象")
            continue
        yield line_no, row


def _csv_rows(path: Path, report: ImportReport, known: set[str]) -> Rows:
    text = _decode(path.read_bytes(), report)
    if text is None:
        return
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    table = [(reader.line_num, row) for row in reader]
    yield from _table_rows(table, report, known)


def _xlsx_rows(path: Path, report: ImportReport, known: set[str]) -> Rows:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        report.error(
            None, f"无法读取 Excel 文件（{type(exc).__name__}），请确认是 .xlsx 格式且未损坏"
        )
        return
    try:
        sheet = workbook.active
        if sheet is None:
            report.error(None, "Excel 文件中没有工作表")
            return
        table = [
            (number, ["" if v is None else v for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()
    yield from _table_rows(table, report, known)


def _table_rows(table: list[tuple[int, list[Any]]], report: ImportReport, known: set[str]) -> Rows:
    """Rows under the header row: the first row (of the first ten) naming known columns."""
    header_at = None
    best = 0
    for i, (_, values) in enumerate(table[:_HEADER_SCAN_ROWS]):
        hits = sum(1 for v in values if header_key(str(v)) in known)
        if hits > best:
            header_at, best = i, hits
    if header_at is None:
        found = "、".join(str(v) for v in table[0][1] if str(v).strip()) if table else ""
        report.error(
            None,
            f"没有找到可识别的表头（读到的第一行：{found or '空'}）；"
            "可用 --map 列名=字段 指定列的含义",
        )
        return
    headers = [str(v).strip() for v in table[header_at][1]]
    for line, values in table[header_at + 1 :]:
        if not any(str(v).strip() for v in values):
            continue
        if len(values) > len(headers) and any(str(v).strip() for v in values[len(headers) :]):
            report.warning(line, "这一行的列数多于表头，多出的内容已忽略")
        yield line, dict(zip(headers, values, strict=False))


def _decode(data: bytes, report: ImportReport) -> str | None:
    if not data.strip():
        report.error(None, "文件是空的")
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    report.error(None, "无法识别文件编码（支持 UTF-8 和 GB18030/GBK）")
    return None
