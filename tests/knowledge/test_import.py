"""Importing catalogues and documents: every format, broken files, bad rows, re-imports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.knowledge.embedder import SentenceTransformerEmbedder
from bot.knowledge.importers.report import ImportReport
from bot.knowledge.ingest import ImportOptions, import_file
from bot.knowledge.models import KnowledgePoint, Standard, Status
from bot.knowledge.store import KnowledgeStore
from tests.knowledge.documents import write_docx, write_pdf, write_xlsx

PUBLIC_EXPORT = [
    {
        "code": "GB 19272-2011",
        "title": "室外健身器材的安全  通用要求",
        "type": "国家标准",
        "status": "废止",
        "issueDate": "2011-09-29",
        "implementDate": "2011-10-01",
        "issuedBy": "国家质量监督检验检疫总局",
        "replaces": None,
        "replacedBy": "GB 19272-2024",
        "abolishDate": None,
    },
    {
        "code": "GB 19272-2024",
        "title": "室外健身器材的安全 通用要求",
        "type": "国家标准",
        "status": "现行",
        "issueDate": "2024-11-28",
        "implementDate": "2025-09-01",
        "issuedBy": "国家市场监督管理总局、国家标准化管理委员会",
        "replaces": "",
        "replacedBy": None,
        "abolishDate": None,
    },
    {
        "code": "GB/T 14833-1993",
        "title": "塑胶跑道",
        "type": "国家标准",
        "status": "废止",
        "issueDate": "1993-12-30",
        "implementDate": "1994-10-01",
        "issuedBy": "国家技术监督局",
        "replaces": None,
        "replacedBy": "TC35",
        "abolishDate": None,
    },
    {
        "code": "GB 9668-1996",
        "title": "体育馆卫生标准",
        "type": "国家标准",
        "status": "废止",
        "issueDate": "1996-01-01",
        "implementDate": "1996-09-01",
        "issuedBy": "卫生部",
        "replaces": "",
        "replacedBy": "GB 9668-1996",
        "abolishDate": None,
    },
    {
        "code": "T/CSGF T/CSGF024—2023",
        "title": "示例团体标准",
        "type": "团体标准",
        "status": "现行",
        "issueDate": "2023-05-01",
        "implementDate": "2023-06-01",
        "issuedBy": "",
        "replaces": None,
        "replacedBy": None,
        "abolishDate": None,
    },
]


class CountingEmbedder:
    """The real model, counting the passages it is asked to embed."""

    def __init__(self, model: SentenceTransformerEmbedder) -> None:
        self.model = model
        self.passages = 0

    @property
    def model_id(self) -> str:
        return self.model.model_id

    @property
    def dimension(self) -> int:
        return self.model.dimension

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.model.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.passages += len(texts)
        return self.model.encode_passages(texts)


def _jsonl(path: Path, rows: Sequence[object]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def _import(path: Path, store: KnowledgeStore, **options: object) -> ImportReport:
    return import_file(path, store, None, ImportOptions(**options))  # type: ignore[arg-type]


def _messages(report: ImportReport) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in report.problems]


def test_public_catalogue_export_is_imported_with_canonical_numbers(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    report = _import(_jsonl(tmp_path / "catalogue.jsonl", PUBLIC_EXPORT), store)
    assert report.rows == 5 and len(report.added) == 5 and not report.errors
    old = store.get("std:GB 19272-2011")
    assert isinstance(old, Standard)
    assert old.status is Status.WITHDRAWN
    assert old.replaced_by == ("GB 19272-2024",)
    assert old.issued == date(2011, 9, 29)
    assert old.issuer == "国家质量监督检验检疫总局"
    assert store.get("std:T/CSGF 024-2023") is not None
    # A technical-committee code and a self-reference are not replacements: dropped, said so.
    assert (3, "GB/T 14833-1993 的被代替标准“TC35”不是标准号，已忽略") in _messages(report)
    assert (4, "GB 9668-1996 的被代替标准指向它自己，已忽略") in _messages(report)
    tc = store.get("std:GB/T 14833-1993")
    assert isinstance(tc, Standard) and tc.replaced_by == ()


def test_bad_rows_are_reported_one_by_one_and_good_rows_still_imported(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    good = {"标准号": "GB/T 33358-2016", "标准名称": "政府热线服务规范", "标准状态": "现行"}
    lines = [
        json.dumps(good, ensure_ascii=False),
        '{"标准号": "GB/T 33357-2016", "标准名称": "政府热线服务评价", ',
        "[1, 2, 3]",
        json.dumps(
            {"标准名称": "没有编号的标准", "标准状态": "现行", "内容": ""}, ensure_ascii=False
        ),
        json.dumps(
            {"标准号": "ABC-123", "标准名称": "编号不对", "标准状态": "现行"}, ensure_ascii=False
        ),
        json.dumps({"标准号": "GB 1-2020", "标准名称": "没有状态"}, ensure_ascii=False),
        json.dumps(
            {"标准号": "GB 2-2020", "标准名称": "状态不对", "标准状态": "作废了吗"},
            ensure_ascii=False,
        ),
        json.dumps(
            {
                "标准号": "GB 3-2020",
                "标准名称": "日期不对",
                "标准状态": "现行",
                "发布日期": "2020-13-45",
            },
            ensure_ascii=False,
        ),
        json.dumps({"标准号": "GB 4-2020", "标准状态": "现行"}, ensure_ascii=False),
        "",
        json.dumps({**good, "标准名称": "政府热线服务规范（重复）"}, ensure_ascii=False),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    report = _import(path, store)
    errors = {p.line: p.message for p in report.errors}
    assert errors[2].startswith("不是有效的 JSON")
    assert errors[3] == "这一行不是 JSON 对象"
    assert errors[4] == "无法判断是标准还是知识点：既没有标准号，也没有内容"
    assert errors[5] == "无法识别的标准号“ABC-123”"
    assert errors[6] == "GB 1-2020 缺少标准状态"
    assert errors[7].startswith("无法识别的标准状态“作废了吗”")
    assert errors[8] == "发布日期“2020-13-45”不是有效日期（应为 2016-12-13 这样的格式）"
    assert errors[9] == "GB 4-2020 缺少标准名称"
    assert (11, "与第1行重复（std:GB/T 33358-2016），以本行为准") in _messages(report)
    # Nothing dropped silently: every row read is either imported or reported.
    assert report.rows == 10
    assert len(report.errors) == 8 and len(report.added) == 1
    kept = store.get("std:GB/T 33358-2016")
    assert kept is not None and kept.title == "政府热线服务规范（重复）"


def test_gbk_csv_with_chinese_headers_and_chinese_dates(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = tmp_path / "目录.csv"
    path.write_text(
        "标准号,标准名称,标准状态,发布日期,实施日期,代替标准,被代替标准,归口单位\n"
        "GB 5749—2022,生活饮用水卫生标准,现行,2022/3/15,2023年4月1日,GB 5749-2006,,"
        "国家卫生健康委员会\n"
        "GB 5749-2006,生活饮用水卫生标准,被代替,2006-12-29,20070701,,GB 5749-2022,卫生部\n",
        encoding="gb18030",
    )
    report = _import(path, store)
    assert not report.problems and len(report.added) == 2
    new = store.get("std:GB 5749-2022")
    assert isinstance(new, Standard)
    assert (new.issued, new.implemented) == (date(2022, 3, 15), date(2023, 4, 1))
    assert new.replaces == ("GB 5749-2006",) and new.issuer == "国家卫生健康委员会"
    old = store.get("std:GB 5749-2006")
    assert isinstance(old, Standard) and old.status is Status.REPLACED
    assert old.implemented == date(2007, 7, 1)


def test_xlsx_with_a_title_row_above_the_header_and_date_cells(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = write_xlsx(
        tmp_path / "catalogue.xlsx",
        [
            ["山东省地方标准目录（节选）"],
            [],
            [
                "序号",
                "标准编号",
                "标准名称",
                "英文名称",
                "状态",
                "发布日期",
                "实施日期",
                "ICS",
                "CCS",
            ],
            [
                1,
                "DB37/T 3881—2020",
                "餐饮业分餐制设计实施指南",
                "Guide",
                "现行",
                datetime(2020, 4, 1),
                datetime(2020, 5, 1),
                "03.080",
                "A12",
            ],
            [
                2,
                "DB37/2376-2019",
                "山东省区域性大气污染物综合排放标准",
                "",
                "现行",
                datetime(2019, 6, 1),
                datetime(2019, 11, 1),
                "",
                "Z60",
            ],
        ],
    )
    report = _import(path, store)
    assert not report.problems, report.summary()
    first = store.get("std:DB37/T 3881-2020")
    assert isinstance(first, Standard)
    assert first.standard_type == "地方标准" and first.ics == "03.080" and first.ccs == "A12"
    assert first.implemented == date(2020, 5, 1)
    assert store.get("std:DB37/2376-2019") is not None


def test_column_mapping_names_columns_the_importer_does_not_know(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("编码\t题名\t现状\nGB 3096-2008\t声环境质量标准\t现行\n", encoding="utf-8")
    unknown = _import(path, store)
    assert next(p.message for p in unknown.errors).startswith("没有找到可识别的表头")
    mapped = _import(path, store, mapping={"编码": "number", "题名": "title", "现状": "status"})
    assert not mapped.problems and mapped.added == ["std:GB 3096-2008"]


def test_knowledge_points_from_csv(tmp_path: Path, store: KnowledgeStore) -> None:
    path = tmp_path / "kp.csv"
    path.write_text(
        "编号,类目,标题,内容,发文单位,材料性质,关键字,责任部门,生效日期,失效日期\n"
        "kp-9001,社会保障 > 医疗保险,异地就医怎么备案,可以通过国家医保服务平台APP办理备案。,"
        "市医保局,办事指南,异地就医、备案,市医保局,2024-01-01,\n"
        ",供热,暖气不热怎么办,先排气再报修。,,,,,2025-11-15,2025-03-15\n",
        encoding="utf-8",
    )
    report = _import(path, store)
    assert len(report.added) == 2
    point = store.get("kp-9001")
    assert isinstance(point, KnowledgePoint)
    assert point.category == "社会保障/医疗保险" and point.keywords == ("异地就医", "备案")
    assert point.department == "市医保局" and point.effective == date(2024, 1, 1)
    assert [p.message for p in report.warnings] == [
        "“暖气不热怎么办”的失效日期早于生效日期，请核对"
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.xlsx", b"PK\x03\x04 not really a workbook", "无法读取 Excel 文件"),
        ("broken.docx", b"this is not a zip", "无法读取 Word 文件"),
        ("broken.pdf", b"%PDF-1.4\n garbage without objects", "无法读取 PDF 文件"),
        ("empty.txt", b"", "文件中没有可导入的文字内容"),
        ("empty.csv", b"   \n", "文件是空的"),
        ("latin.txt", bytes(range(128, 256)) * 4, "无法识别文件编码"),
    ],
)
def test_broken_files_are_reported_not_crashed_on(
    tmp_path: Path, store: KnowledgeStore, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    report = _import(path, store)
    assert report.errors and report.errors[0].message.startswith(message), report.summary()
    assert store.count() == 0


def test_a_pdf_without_text_asks_for_ocr(tmp_path: Path, store: KnowledgeStore) -> None:
    report = _import(write_pdf(tmp_path / "scan.pdf", []), store)
    assert report.errors[0].message.startswith("PDF 中没有可提取的文字（可能是扫描件）")


def test_unknown_extension_and_missing_file(tmp_path: Path, store: KnowledgeStore) -> None:
    with pytest.raises(ValueError, match="无法从扩展名判断格式"):
        _import(tmp_path / "catalogue.dat", store)
    report = _import(tmp_path / "missing.csv", store)
    assert report.errors[0].message == "文件不存在"


REGULATION = """济南市供热管理规定（示例）
第一章 总则
第一条 为了规范城市供热，保障供热用户的合法权益，制定本规定。
第二条 本市行政区域内的城市供热及其管理活动，适用本规定。
第二章 供热质量
第十条 供暖期内，供热企业应当保证用户卧室、起居室温度不低于18℃。
第十一条 室温不达标的，用户可以向供热企业报修，供热企业应当在24小时内上门处理。
"""


def test_txt_is_split_by_chapter_with_articles_in_their_chapter(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = tmp_path / "heating.txt"
    path.write_text(REGULATION, encoding="utf-8")
    report = _import(path, store, category="公用事业/供热", issuer="济南市城市管理局")
    assert report.added == ["doc:heating"] and not report.problems
    point = store.get("doc:heating")
    assert isinstance(point, KnowledgePoint)
    assert point.title == "济南市供热管理规定（示例）"
    assert [s.heading for s in point.sections] == ["第一章 总则", "第二章 供热质量"]
    assert "18℃" in point.sections[1].text and point.category == "公用事业/供热"


def test_markdown_and_html_sections_follow_their_headings(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    md = tmp_path / "guide.md"
    md.write_text(
        "# 居住证办理指南\n\n## 办理条件\n在济南居住半年以上。\n\n## 所需材料\n**身份证**、居住证明。\n",
        encoding="utf-8",
    )
    html = tmp_path / "notice.html"
    html.write_text(
        "<html><head><title>停水通知</title><script>alert(1)</script></head><body>"
        "<h1>停水通知</h1><h2>停水时间</h2><p>3月5日8时至18时。</p>"
        "<h2>影响范围</h2><ul><li>历下区部分小区</li></ul></body></html>",
        encoding="utf-8",
    )
    _import(md, store)
    _import(html, store)
    guide = store.get("doc:guide")
    notice = store.get("doc:notice")
    assert isinstance(guide, KnowledgePoint) and isinstance(notice, KnowledgePoint)
    assert guide.title == "居住证办理指南"
    assert [(s.heading, s.text) for s in guide.sections] == [
        ("办理条件", "在济南居住半年以上。"),
        ("所需材料", "身份证、居住证明。"),
    ]
    assert notice.title == "停水通知"
    assert [s.heading for s in notice.sections] == ["停水时间", "影响范围"]
    assert "alert" not in notice.content


def test_docx_full_text_is_attached_to_its_standard(tmp_path: Path, store: KnowledgeStore) -> None:
    _import(
        _jsonl(
            tmp_path / "c.jsonl",
            [{"标准号": "GB/T 33358-2016", "标准名称": "政府热线服务规范", "标准状态": "现行"}],
        ),
        store,
    )
    path = write_docx(
        tmp_path / "GB-T 33358-2016 全文.docx",
        "GB/T 33358-2016 政府热线服务规范",
        [
            ("4 服务要求", "热线应提供全天24小时服务。"),
            ("5 服务流程", "受理、派单、办理、答复、回访。"),
        ],
    )
    report = _import(path, store)
    assert report.updated == ["std:GB/T 33358-2016"], report.summary()
    standard = store.get("std:GB/T 33358-2016")
    assert isinstance(standard, Standard)
    assert [s.heading for s in standard.sections] == ["4 服务要求", "5 服务流程"]
    unknown = _import(path, store, standard="GB/T 99999-2020")
    assert unknown.errors[0].message.startswith("知识库中没有标准“GB/T 99999-2020”")


def test_pdf_text_is_split_by_numbered_clauses(tmp_path: Path, store: KnowledgeStore) -> None:
    path = write_pdf(
        tmp_path / "hotline.pdf",
        [
            "Hotline service guide",
            "1 Scope",
            "This guide covers the citizen hotline.",
            "4.1 Acceptance",
            "Calls are answered within 15 seconds.",
        ],
    )
    report = _import(path, store)
    assert report.added == ["doc:hotline"], report.summary()
    point = store.get("doc:hotline")
    assert isinstance(point, KnowledgePoint)
    assert [s.heading for s in point.sections] == ["1 Scope", "4.1 Acceptance"]


def test_reimport_embeds_only_what_changed_and_prune_removes_what_left(
    tmp_path: Path, store: KnowledgeStore, embedder: SentenceTransformerEmbedder
) -> None:
    counting = CountingEmbedder(embedder)
    rows = [
        {
            "id": f"kp-{i}",
            "title": f"问题{i}",
            "content": f"第{i}条知识的内容。",
            "category": "测试",
        }
        for i in range(5)
    ]
    path = _jsonl(tmp_path / "kp.jsonl", rows)
    first = import_file(path, store, counting, ImportOptions())
    assert len(first.added) == 5 and first.embedded == 5 and counting.passages == 5
    again = import_file(path, store, counting, ImportOptions())
    assert len(again.unchanged) == 5 and again.embedded == 0 and counting.passages == 5
    rows[2]["content"] = "第2条知识的内容，已经修改。"
    rows[4]["category"] = "测试/改了类目"  # metadata only: the passage text is unchanged
    _jsonl(path, [*rows[:4], rows[4]])
    changed = import_file(path, store, counting, ImportOptions())
    assert changed.updated == ["kp-2", "kp-4"] and changed.embedded == 1
    assert counting.passages == 6
    _jsonl(path, rows[:3])
    pruned = import_file(path, store, counting, ImportOptions(prune=True))
    assert pruned.removed == ["kp-3", "kp-4"] and store.count() == 3


@pytest.mark.postgres
def test_postgres_store_round_trip(
    fresh_postgres_url: str, embedder: SentenceTransformerEmbedder
) -> None:
    url = fresh_postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    store = KnowledgeStore(url)
    try:
        standard = Standard(
            number="GB 3096-2008",
            title="声环境质量标准",
            status=Status.CURRENT,
            replaces=("GB 3096-1993",),
            issued=date(2008, 8, 19),
        )
        result = store.upsert([standard], origin="test")
        assert result.added == ["std:GB 3096-2008"]
        assert store.get("std:GB 3096-2008") == standard
        assert [e.id for e in store.find_by_match_key("GB 3096")] == ["std:GB 3096-2008"]
        pending = store.passages_needing_embeddings(embedder.model_id)
        store.save_embeddings(
            embedder.model_id,
            [pid for pid, _ in pending],
            embedder.encode_passages([text for _, text in pending]),
        )
        rows = store.index_rows(embedder.model_id, embedder.dimension)
        assert len(rows.passages) == 1 and rows.vectors.shape == (1, embedder.dimension)
    finally:
        store.close()
