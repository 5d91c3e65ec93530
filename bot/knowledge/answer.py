"""Turning search results into what the citizen reads: Chinese text resting on one citation.

Every sentence of an answer is built from fields of the cited record; nothing is
paraphrased or generated. When search is not sure (calibrated confidence below the
threshold) the answer says so and offers a 咨询 work order or a human agent instead of
guessing. An obsolete standard is never presented as current: its status is stated
first and the standard in force that replaced it is named.

A record whose source nobody has checked (``Provenance.verified``) is never stated as
official fact: the answer is attributed to the knowledge base and points to the official
channel. A standard's status names the date it holds from and where it comes from.
"""

from __future__ import annotations

from datetime import date

from bot.knowledge.engine import Filters, KnowledgeBase, NumberMatch, SearchResult
from bot.knowledge.models import Answer, Hit, KnowledgePoint, Standard, Status
from bot.knowledge.status import KP_EXPIRED, KP_NOT_YET, knowledge_status
from bot.knowledge.text import sentences

MAX_CONTENT_CHARS = 400
MAX_SCOPE_CHARS = 300
MAX_ALTERNATIVES = 2
# A "相关" button under a confident answer must be worth a citizen's tap. Measured on the
# labelled starter questions (alternatives under the 95 confident answers, relevant = in
# the question's ``expected``): at 0.4 all 5 relevant alternatives stay and 19 of the
# 295 others are shown, against 32 at the old
# floor (0.3) and every one of them for a bare standard number, which had no floor at all
# (GB/T 33358-2016 政府热线服务规范 → a vehicle-emission standard at 0.12).
RELATED_FLOOR = 0.4

NOT_SURE = (
    "抱歉，这个问题我暂时没有找到有把握的答案，为了不给您不准确的信息，我就不乱说了。"
    "您可以登记一张咨询工单，由相关部门专人答复您；也可以转人工客服。"
)
OFFICIAL_CHANNEL = "请以全国标准信息公共服务平台等官方渠道公布的最新信息为准"
UNVERIFIED_PREFIX = "据知识库记载，"
UNVERIFIED_STANDARD = "以上信息的来源尚未核实，请以全国标准信息公共服务平台为准。"
UNVERIFIED_KNOWLEDGE = "以上信息的来源尚未核实，请以主管部门最新公布为准。"


def answer_question(
    kb: KnowledgeBase, question: str, filters: Filters | None = None, today: date | None = None
) -> Answer:
    today = today or date.today()
    return compose_answer(kb, kb.search(question, top_k=5, filters=filters, today=today), today)


def answer_entry(kb: KnowledgeBase, entry_id: str, today: date | None = None) -> Answer | None:
    """The answer for one entry the citizen picked (an alternative's button)."""
    today = today or date.today()
    entry = kb.get(entry_id)
    if entry is None:
        return None
    hit = kb.entry_hit(entry, today)
    return Answer(
        text=_entry_text(kb, hit, today), confident=True, confidence=1.0, citation=hit.citation
    )


def compose_answer(kb: KnowledgeBase, result: SearchResult, today: date) -> Answer:
    threshold = kb.calibration.threshold
    known = [m for m in result.numbers if m.editions]
    if known:
        return _number_answer(kb, result, known[0], today)
    if result.numbers:
        return _unknown_number_answer(result, threshold)
    if not result.hits or result.hits[0].confidence < threshold:
        return _not_sure(result.hits, threshold)
    best = result.hits[0]
    text = _entry_text(kb, best, today)
    return Answer(
        text=text,
        confident=True,
        confidence=best.confidence,
        citation=best.citation,
        alternatives=_related(result.hits[1:]),
    )


def _number_answer(
    kb: KnowledgeBase, result: SearchResult, match: NumberMatch, today: date
) -> Answer:
    notices: list[str] = []
    if match.exact is not None:
        main = match.exact
        status = kb.status(main, today)
        if status.is_obsolete:
            notices.append(_obsolete_notice(kb, main, status, today, cited=True))
    else:
        main = kb.editions_in_order(match, today)[0]
        if match.cited.year:
            notices.append(
                f"知识库中没有 {match.cited.canonical} 这一版本的记录；"
                f"该标准号现有记录为：{'、'.join(_edition_list(kb, match, today))}。"
            )
    hit = next((h for h in result.hits if h.entry.id == main.id), None) or kb.entry_hit(main, today)
    cited_obsolete = bool(notices) and match.exact is not None
    body = _standard_text(kb, main, today, skip_obsolete_notice=cited_obsolete)
    others = [h for h in result.hits if h.entry.id != main.id]
    # An obsolete-edition notice is the record's own fact; "no such edition" is not.
    text = (
        _attributed(main, "\n".join([*notices, body]))
        if match.exact is not None
        else "\n".join([*notices, _attributed(main, body)])
    )
    return Answer(
        text=text,
        confident=True,
        confidence=1.0,
        citation=hit.citation,
        alternatives=_related(others),
        notices=tuple(notices),
    )


def _unknown_number_answer(result: SearchResult, threshold: float) -> Answer:
    cited = "、".join(n.canonical for n in result.unknown_numbers)
    text = (
        f"抱歉，知识库中没有查到标准 {cited} 的记录，我无法确认它的内容和状态。"
        f"{OFFICIAL_CHANNEL}；您也可以登记一张咨询工单，或者转人工客服。"
    )
    return Answer(
        text=text,
        confident=False,
        confidence=0.0,
        alternatives=_alternatives(result.hits, threshold),
    )


def _not_sure(hits: list[Hit], threshold: float) -> Answer:
    alternatives = _alternatives(hits, threshold)
    text = NOT_SURE + ("下面几条可能相关，供您参考。" if alternatives else "")
    best = hits[0].confidence if hits else 0.0
    return Answer(text=text, confident=False, confidence=best, alternatives=alternatives)


def _related(hits: list[Hit]) -> tuple[Hit, ...]:
    """Entries related to a confident answer: exact number matches, or relevant enough."""
    return tuple(h for h in hits if h.exact or h.confidence >= RELATED_FLOOR)[:MAX_ALTERNATIVES]


def _alternatives(hits: list[Hit], threshold: float) -> tuple[Hit, ...]:
    """Other answers worth a button: exact matches, or at least half as likely as the bar."""
    floor = threshold / 2
    return tuple(h for h in hits if h.exact or h.confidence >= floor)[:MAX_ALTERNATIVES]


def _edition_list(kb: KnowledgeBase, match: NumberMatch, today: date) -> list[str]:
    return [f"{s.number}（{kb.status(s, today).value}）" for s in match.editions]


def _entry_text(kb: KnowledgeBase, hit: Hit, today: date) -> str:
    if isinstance(hit.entry, Standard):
        return _attributed(hit.entry, _standard_text(kb, hit.entry, today))
    return _knowledge_text(hit.entry, today)


def _attributed(standard: Standard, text: str) -> str:
    """An unverified standard's answer, said as what the knowledge base records."""
    if standard.provenance.verified:
        return text
    return f"{UNVERIFIED_PREFIX}{text}\n{UNVERIFIED_STANDARD}"


def _standard_text(
    kb: KnowledgeBase, standard: Standard, today: date, skip_obsolete_notice: bool = False
) -> str:
    status = kb.status(standard, today)
    kind = standard.standard_type or "标准"
    parts = [f"《{standard.title}》（{standard.number}）是{kind}，当前状态：{status.value}。"]
    dates = []
    if standard.issued:
        dates.append(f"{_day(standard.issued)}发布")
    if standard.implemented:
        dates.append(f"{_day(standard.implemented)}实施")
    if dates:
        parts.append("，".join(dates) + "。")
    if status is Status.CURRENT and standard.withdrawn and standard.withdrawn > today:
        parts.append(f"注意：该标准将于{_day(standard.withdrawn)}废止。")
    if status is Status.CURRENT:
        parts += _coming_successors(kb, standard, today)
    if status is Status.UPCOMING:
        parts.append(_upcoming_notice(kb, standard, today))
    if status.is_obsolete and not skip_obsolete_notice:
        parts.append(_obsolete_notice(kb, standard, status, today, cited=False))
    if standard.scope:
        parts.append(f"适用范围：{_shorten(standard.scope, MAX_SCOPE_CHARS)}")
    if standard.issuer:
        parts.append(f"发布/归口单位：{standard.issuer}。")
    parts.append(
        f"（依据：{standard.number}《{standard.title}》，{_status_basis(standard, status)}）"
    )
    return "".join(parts)


def _status_basis(standard: Standard, status: Status) -> str:
    """The status with the date it holds from, its source and when that was checked."""
    since = {
        Status.CURRENT: standard.implemented,
        Status.UPCOMING: standard.issued,
        Status.WITHDRAWN: standard.withdrawn,
        Status.REPLACED: standard.withdrawn,
    }[status]
    basis = status.value + (f"，状态日期{_day(since)}" if since else "")
    provenance = standard.provenance
    source = provenance.document or standard.source or provenance.issuer
    if source:
        basis += f"；来源：{source}"
    if provenance.checked_on:
        basis += f"，{_day(provenance.checked_on)}核对"
    return basis


def _coming_successors(kb: KnowledgeBase, standard: Standard, today: date) -> list[str]:
    notes = []
    for number in standard.replaced_by:
        successor = kb.standard(number)
        if successor is not None and kb.status(successor, today) is Status.UPCOMING:
            when = (
                f"将于{_day(successor.implemented)}起实施" if successor.implemented else "尚未实施"
            )
            notes.append(f"注意：新版{successor.label}已发布，{when}，届时本标准被代替。")
    return notes


def _upcoming_notice(kb: KnowledgeBase, standard: Standard, today: date) -> str:
    when = f"将于{_day(standard.implemented)}起实施" if standard.implemented else "实施日期待公布"
    notice = f"该标准已发布但尚未实施，{when}。"
    in_force = [
        s
        for n in standard.replaces
        if (s := kb.standard(n)) is not None and kb.status(s, today) is Status.CURRENT
    ]
    if in_force:
        notice += f"实施之前仍执行{'、'.join(s.label for s in in_force)}。"
    return notice


def _obsolete_notice(
    kb: KnowledgeBase, standard: Standard, status: Status, today: date, cited: bool
) -> str:
    when = (
        f"已于{_day(standard.withdrawn)}{status.value}"
        if standard.withdrawn
        else f"已{status.value}"
    )
    subject = f"您提到的 {standard.number}" if cited else "该标准"
    notice = f"{subject}{when}，不再是现行有效的标准，请不要再以它为依据。"
    replacements = kb.replacements(standard, today)
    if replacements:
        names = "、".join(f"{s.label}（现行）" for s in replacements)
        return notice + f"现行有效的替代标准是{names}。"
    return notice + f"知识库中没有记录它的替代标准，{OFFICIAL_CHANNEL}。"


def _knowledge_text(point: KnowledgePoint, today: date) -> str:
    status = knowledge_status(point, today)
    parts: list[str] = []
    if status == KP_EXPIRED and point.expires:
        parts.append(
            f"提示：以下信息的有效期已于{_day(point.expires)}截止，相关规定可能已经调整，"
            "请以主管部门最新公布为准。"
        )
    if status == KP_NOT_YET and point.effective:
        parts.append(f"提示：以下规定自{_day(point.effective)}起施行，目前尚未生效。")
    attribution = "" if point.provenance.verified else UNVERIFIED_PREFIX
    parts.append(f"{attribution}关于“{point.title}”：{_shorten(point.content, MAX_CONTENT_CHARS)}")
    origin = [x for x in (point.issuer or point.department, point.material_type) if x]
    if point.reviewed:
        origin.append(f"{_day(point.reviewed)}核对")
    if point.source:
        origin.append(point.source)
    if origin:
        parts.append(f"（来源：{'，'.join(origin)}）")
    if not point.provenance.verified:
        parts.append(UNVERIFIED_KNOWLEDGE)
    return "\n".join(parts)


def _shorten(text: str, limit: int) -> str:
    """Whole sentences up to ``limit`` characters; a cut is marked, never hidden."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    out = ""
    for sentence in sentences(flat):
        if len(out) + len(sentence) > limit:
            break
        out += sentence
    return (out or flat[:limit]) + "……（内容较长，详见原文）"


def _day(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""
