"""Provenance: imports name their source, answers never state an unverified record as fact."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from bot.knowledge.answer import answer_entry, answer_question
from bot.knowledge.embedder import Embedder
from bot.knowledge.ingest import ImportOptions, import_file
from bot.knowledge.models import KnowledgePoint, Provenance, Standard, Status
from bot.knowledge.store import KnowledgeStore
from tests.knowledge.kbtools import build_kb

TODAY = date(2026, 12, 1)
TRAIL = Standard(
    "GB/T 99001-2026",
    "健身步道建设规范",
    Status.CURRENT,
    standard_type="国家标准",
    issued=date(2026, 1, 5),
    implemented=date(2026, 7, 1),
    source="体育设施标准目录",
)
CHECKED = Provenance(
    document="全国标准信息公共服务平台",
    url="https://std.samr.gov.cn/",
    checked_on=date(2026, 11, 30),
    checked_by="张核对",
    verified=True,
)
POINT = KnowledgePoint(id="kp-card", title="共享书房借阅卡怎么申领", content="凭身份证免押金申领。")


def test_unverified_records_are_attributed_and_point_to_the_official_channel(
    embedder: Embedder,
) -> None:
    kb = build_kb([TRAIL, POINT], embedder)
    standard = answer_question(kb, "GB/T 99001-2026 是什么标准", today=TODAY)
    assert standard.text.startswith("据知识库记载，《健身步道建设规范》（GB/T 99001-2026）")
    assert standard.text.endswith("以上信息的来源尚未核实，请以全国标准信息公共服务平台为准。")
    # The status names the date it holds from and its source.
    assert "现行，状态日期2026年7月1日；来源：体育设施标准目录" in standard.text
    point = answer_entry(kb, "kp-card", today=TODAY)
    assert point is not None and point.text.startswith("据知识库记载，关于“共享书房借阅卡怎么申领”")
    assert point.text.endswith("请以主管部门最新公布为准。")


def test_verified_records_are_stated_with_their_checked_source(embedder: Embedder) -> None:
    kb = build_kb([replace(TRAIL, provenance=CHECKED)], embedder)
    answer = answer_question(kb, "GB/T 99001-2026", today=TODAY)
    assert answer.text.startswith(
        "《健身步道建设规范》（GB/T 99001-2026）是国家标准，当前状态：现行。"
    )
    assert "据知识库记载" not in answer.text and "尚未核实" not in answer.text
    assert "来源：全国标准信息公共服务平台，2026年11月30日核对" in answer.text


def test_imports_name_their_source_and_start_unverified(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = tmp_path / "catalogue.jsonl"
    path.write_text(
        '{"code": "GB/T 99001-2026", "title": "健身步道建设规范", "status": "现行", '
        '"issuedBy": "国家体育总局"}\n',
        encoding="utf-8",
    )
    report = import_file(path, store, None, ImportOptions())
    assert not report.errors
    stored = store.get("std:GB/T 99001-2026")
    assert stored is not None
    assert stored.provenance == Provenance(document="catalogue.jsonl", issuer="国家体育总局")
    # The provenance survives the store's JSON round trip, dates included.
    store.upsert([replace(TRAIL, provenance=CHECKED)], "console")
    assert store.get(TRAIL.id) == replace(TRAIL, provenance=CHECKED)
