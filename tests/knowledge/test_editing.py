"""The editing layer without HTTP: versions, the four-eyes workflow, search's revision."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.knowledge.editing.diff import changes
from bot.knowledge.editing.flags import FlagBox, Reason
from bot.knowledge.editing.forms import FormError, entry_from_form, form_values
from bot.knowledge.editing.service import KnowledgeEditor, RecordFilter
from bot.knowledge.editing.workflow import State, WorkflowError
from bot.knowledge.models import KnowledgePoint, Provenance
from bot.knowledge.store import KnowledgeStore

TODAY = date(2026, 12, 1)
POINT = KnowledgePoint(
    id="kp-test-1",
    title="居住证办理需要什么材料",
    content="身份证、租房合同和近期照片。",
    category="公安/户籍",
    department="市公安局",
)


@pytest.fixture
def editor(store: KnowledgeStore) -> KnowledgeEditor:
    return KnowledgeEditor(store)


def test_every_save_is_a_version_and_restoring_makes_a_new_draft(editor: KnowledgeEditor) -> None:
    assert editor.save(POINT, "alice", creating=True) == 1
    edited = replace(POINT, content="身份证、租房合同、近期照片和社保缴纳证明。")
    assert editor.save(edited, "alice", "补充社保证明", creating=False) == 2
    with pytest.raises(WorkflowError, match="没有变化"):
        editor.save(edited, "alice", creating=False)
    with pytest.raises(WorkflowError, match="已被另一条记录使用"):
        editor.save(POINT, "bob", creating=True)
    versions = editor.versions(POINT.id)
    assert [(v.version, v.author, v.note) for v in versions] == [
        (2, "alice", "补充社保证明"),
        (1, "alice", ""),
    ]
    (change,) = changes(versions[1].entry, versions[0].entry)
    assert change.label == "内容"
    assert "社保缴纳证明" in "".join(text for op, text in change.segments if op == "ins")
    assert editor.restore(POINT.id, 1, "bob") == 3
    record = editor.record(POINT.id)
    assert record.state is State.DRAFT and record.editor == "bob"
    assert editor.versions(POINT.id)[0].entry.content == POINT.content


def test_review_needs_another_person_and_publishing_reaches_the_store(
    editor: KnowledgeEditor, store: KnowledgeStore
) -> None:
    editor.save(POINT, "alice", creating=True)
    with pytest.raises(WorkflowError, match="不在待审核状态"):
        editor.publish(POINT.id, "bob", TODAY)
    editor.submit(POINT.id, "alice")
    with pytest.raises(WorkflowError, match="不能是这条记录的编辑人"):
        editor.publish(POINT.id, "alice", TODAY)
    assert store.get(POINT.id) is None
    before = store.revision()
    editor.publish(POINT.id, "bob", TODAY)
    assert store.get(POINT.id) == POINT
    assert store.revision() > before
    record = editor.record(POINT.id)
    assert record.state is State.PUBLISHED and record.live_version == 1
    assert record.review_due == date(2027, 12, 1)

    # A new draft leaves the published version in search until it is reviewed.
    editor.save(replace(POINT, content="新内容"), "carol", creating=False)
    assert store.get(POINT.id) == POINT
    editor.withdraw(POINT.id, "bob", "政策已调整")
    assert store.get(POINT.id) is None
    assert editor.record(POINT.id).state is State.WITHDRAWN
    actions = [e.action.value for e in editor.events(POINT.id)]
    assert actions == ["withdraw", "publish", "submit"]


def test_rejected_records_go_back_to_draft(editor: KnowledgeEditor) -> None:
    editor.save(POINT, "alice", creating=True)
    editor.submit(POINT.id, "alice")
    editor.reject(POINT.id, "bob", "请补充办理地点")
    assert editor.record(POINT.id).state is State.DRAFT
    assert editor.events(POINT.id)[0].note == "请补充办理地点"


def test_filters_search_and_reminders(editor: KnowledgeEditor, store: KnowledgeStore) -> None:
    old = replace(POINT, id="kp-old", title="老年人优待证", reviewed=date(2025, 11, 1))
    store.upsert([POINT, old], "seed.jsonl")
    assert editor.adopt(TODAY) == 2
    assert editor.adopt(TODAY) == 0
    rows, total = editor.records(RecordFilter(query="居住证 材料"), TODAY)
    assert total == 1 and rows[0].id == POINT.id and rows[0].state is State.PUBLISHED
    due, _ = editor.records(RecordFilter(due=True), TODAY)
    assert [r.id for r in due] == ["kp-old"]
    assert editor.reminders(TODAY) == {"review": 0, "due": 1, "unverified": 2}
    assert editor.records(RecordFilter(department="市公安局", category="公安/户籍"), TODAY)[1] == 2
    store.delete(["kp-old"])
    assert editor.adopt(TODAY) == 1
    assert editor.record("kp-old").state is State.WITHDRAWN


def test_form_checks_dates_and_verification() -> None:
    form = {
        **form_values(POINT),
        "prov_document": "市公安局户籍业务指南",
        "prov_checked_on": "2026-11-30",
        "prov_checked_by": "张核对",
        "prov_verified": "1",
    }
    entry = entry_from_form("knowledge", form)
    assert entry.provenance == Provenance(
        document="市公安局户籍业务指南",
        checked_on=date(2026, 11, 30),
        checked_by="张核对",
        verified=True,
    )
    with pytest.raises(FormError, match="核对日期和核对人"):
        entry_from_form("knowledge", {**form, "prov_checked_by": ""})
    with pytest.raises(FormError, match="不是有效日期"):
        entry_from_form("knowledge", {**form, "expires": "明年"})
    with pytest.raises(FormError, match="缺少标准号"):
        entry_from_form("standard", {"title": "x", "status": "现行"})


def test_flags_are_masked_and_resolved(store: KnowledgeStore) -> None:
    box = FlagBox(store)
    flag_id = box.add(
        reason=Reason.OUTDATED,
        question="我电话13812345678，居住证怎么办",
        answer="关于居住证……",
        reporter="citizen",
        record_id=POINT.id,
        comment="材料已经变了",
    )
    (flag,) = box.open_flags()
    assert "13812345678" not in flag.question and flag.reason is Reason.OUTDATED
    assert box.resolve(flag_id, "bob") and box.count_open() == 0
