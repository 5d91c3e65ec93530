"""Status rules: an obsolete standard is never presented as current, and its replacement is named."""

from __future__ import annotations

from datetime import date

import pytest

from bot.knowledge.answer import answer_question
from bot.knowledge.embedder import SentenceTransformerEmbedder
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.models import Entry, KnowledgePoint, Standard, Status
from bot.knowledge.status import effective_status, knowledge_status
from tests.knowledge.kbtools import build_kb

TODAY = date(2026, 11, 29)

EBIKE_1999 = Standard(
    "GB 17761-1999",
    "电动自行车通用技术条件",
    Status.WITHDRAWN,
    withdrawn=date(2019, 4, 15),
    replaced_by=("GB 17761-2018",),
    standard_type="国家标准",
)
EBIKE_2018 = Standard(
    "GB 17761-2018",
    "电动自行车安全技术规范",
    Status.WITHDRAWN,
    withdrawn=date(2025, 9, 1),
    replaces=("GB 17761-1999",),
    replaced_by=("GB 17761-2024",),
    standard_type="国家标准",
)
EBIKE_2024 = Standard(
    "GB 17761-2024",
    "电动自行车安全技术规范",
    Status.CURRENT,
    issued=date(2024, 12, 31),
    implemented=date(2025, 9, 1),
    replaces=("GB 17761-2018",),
    standard_type="国家标准",
    scope="规定了电动自行车的整车安全要求，最高设计车速为25公里/小时。",
    source="全国标准信息公共服务平台公开信息",
)
LABEL_2011 = Standard(
    "GB 7718-2011",
    "食品安全国家标准 预包装食品标签通则",
    Status.CURRENT,
    implemented=date(2012, 4, 20),
    replaced_by=("GB 7718-2025",),
    standard_type="国家标准",
)
LABEL_2025 = Standard(
    "GB 7718-2025",
    "食品安全国家标准 预包装食品标签通则",
    Status.UPCOMING,
    issued=date(2025, 3, 16),
    implemented=date(2027, 3, 16),
    replaces=("GB 7718-2011",),
    standard_type="国家标准",
)
# A catalogue that says nothing about replacement: the later edition of the same number.
FITNESS_2011 = Standard("GB 19272-2011", "室外健身器材的安全 通用要求", Status.WITHDRAWN)
FITNESS_2024 = Standard("GB 19272-2024", "室外健身器材的安全 通用要求", Status.CURRENT)
ORPHAN = Standard(
    "DB2306/T 174-2023",
    "大庆市体育场所运营管理规范",
    Status.CURRENT,
    withdrawn=date(2025, 6, 17),
    standard_type="地方标准",
)
HEATING_NOTICE = KnowledgePoint(
    "kp-heat-2025",
    "济南市2025—2026年度供暖期时间安排",
    "供暖期为2025年11月15日至2026年3月15日。",
    expires=date(2026, 3, 31),
    issuer="济南市城市管理局",
)


@pytest.fixture(scope="module")
def kb(embedder: SentenceTransformerEmbedder) -> KnowledgeBase:
    entries: list[Entry] = [
        EBIKE_1999,
        EBIKE_2018,
        EBIKE_2024,
        LABEL_2011,
        LABEL_2025,
        FITNESS_2011,
        FITNESS_2024,
        ORPHAN,
        HEATING_NOTICE,
    ]
    return build_kb(entries, embedder)


def test_status_follows_the_dates_not_a_stale_catalogue() -> None:
    assert effective_status(LABEL_2025, TODAY) is Status.UPCOMING
    assert effective_status(LABEL_2025, date(2027, 3, 16)) is Status.CURRENT
    assert effective_status(ORPHAN, date(2025, 6, 16)) is Status.CURRENT
    assert effective_status(ORPHAN, TODAY) is Status.WITHDRAWN
    assert knowledge_status(HEATING_NOTICE, date(2026, 1, 1)) == "有效"
    assert knowledge_status(HEATING_NOTICE, TODAY) == "已失效"


def test_a_standard_whose_replacement_took_effect_is_replaced(kb: KnowledgeBase) -> None:
    assert kb.status(LABEL_2011, TODAY) is Status.CURRENT
    assert kb.status(LABEL_2011, date(2027, 3, 16)) is Status.REPLACED


def test_citing_an_obsolete_edition_names_the_standard_in_force(kb: KnowledgeBase) -> None:
    answer = answer_question(kb, "GB 17761-1999还能用吗？", today=TODAY)
    assert answer.confident
    assert answer.text.startswith(
        "据知识库记载，您提到的 GB 17761-1999已于2019年4月15日废止，不再是现行有效的标准"
    )
    # The chain 1999 → 2018 → 2024 is followed to the edition in force; 2018 is not offered.
    assert "现行有效的替代标准是GB 17761-2024《电动自行车安全技术规范》（现行）" in answer.text
    assert "GB 17761-2018《电动自行车安全技术规范》（现行）" not in answer.text
    assert answer.citation is not None and answer.citation.status == "废止"
    assert "当前状态：现行" not in answer.text


def test_a_number_without_year_answers_with_the_edition_in_force(kb: KnowledgeBase) -> None:
    answer = answer_question(kb, "电动自行车国标17761是什么", today=TODAY)
    assert answer.text.startswith(
        "据知识库记载，《电动自行车安全技术规范》（GB 17761-2024）是国家标准，当前状态：现行。"
    )
    assert answer.citation is not None and answer.citation.number == "GB 17761-2024"
    assert "最高设计车速为25公里/小时" in answer.text


def test_an_edition_the_store_does_not_know_is_said_so(kb: KnowledgeBase) -> None:
    answer = answer_question(kb, "GB 17761-2010", today=TODAY)
    assert answer.text.startswith("知识库中没有 GB 17761-2010 这一版本的记录；该标准号现有记录为：")
    assert "GB 17761-2024（现行）" in answer.text


def test_an_upcoming_standard_says_the_old_one_still_applies(kb: KnowledgeBase) -> None:
    upcoming = answer_question(kb, "GB 7718-2025", today=TODAY)
    assert "当前状态：即将实施" in upcoming.text
    assert "将于2027年3月16日起实施" in upcoming.text
    assert "实施之前仍执行GB 7718-2011《食品安全国家标准 预包装食品标签通则》" in upcoming.text
    current = answer_question(kb, "GB 7718-2011", today=TODAY)
    assert "当前状态：现行" in current.text
    assert "新版GB 7718-2025《食品安全国家标准 预包装食品标签通则》已发布" in current.text
    later = answer_question(kb, "GB 7718-2011", today=date(2027, 4, 1))
    assert "当前状态：被代替" in later.text
    assert "现行有效的替代标准是GB 7718-2025" in later.text


def test_a_later_edition_of_the_same_number_is_the_replacement(kb: KnowledgeBase) -> None:
    answer = answer_question(kb, "GB 19272-2011", today=TODAY)
    assert "现行有效的替代标准是GB 19272-2024《室外健身器材的安全 通用要求》（现行）" in answer.text


def test_no_replacement_on_record_is_not_invented(kb: KnowledgeBase) -> None:
    answer = answer_question(kb, "DB2306/T 174-2023", today=TODAY)
    assert "当前状态：废止" in answer.text
    assert "知识库中没有记录它的替代标准" in answer.text


def test_an_unknown_number_is_not_answered(kb: KnowledgeBase) -> None:
    answer = answer_question(kb, "GB/T 99999-2030是什么标准", today=TODAY)
    assert not answer.confident and answer.citation is None
    assert answer.text.startswith("抱歉，知识库中没有查到标准 GB/T 99999-2030 的记录")


def test_an_expired_notice_is_flagged_not_served_as_current(kb: KnowledgeBase) -> None:
    result = kb.search("2025年供暖期时间安排", today=TODAY)
    notice = next(h for h in result.hits if h.entry.id == "kp-heat-2025")
    assert notice.citation.status == "已失效"
    from bot.knowledge.answer import answer_entry

    answer = answer_entry(kb, "kp-heat-2025", today=TODAY)
    assert answer is not None
    assert answer.text.startswith("提示：以下信息的有效期已于2026年3月31日截止")


def test_search_ranks_the_edition_in_force_for_its_number(kb: KnowledgeBase) -> None:
    hits = kb.search("电动自行车安全技术规范", today=TODAY).hits
    editions = [h.entry.id for h in hits if h.entry.id.startswith("std:GB 17761")]
    assert editions == ["std:GB 17761-2024"]
