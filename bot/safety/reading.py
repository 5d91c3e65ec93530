"""Whether a danger a message names is happening now, read from the sentence around it.

Citizens name fires and accidents for many reasons besides reporting one: a congestion
complaint says "一出交通事故就堵死", a report of a hazard says "存在火灾隐患", a complaint
about an illegal building recalls "充电桩失火，幸亏消防人员及时赶到". Only a present,
ongoing danger belongs to 110/119/120/122; the rest are complaints or 安全隐患 reports to be
ticketed. A word list tuned to single sentences cannot tell these apart, so the reading
follows how Chinese marks time and mood around the event:

- aspect and deixis: 了/正在/现在/刚才/快来 make it a report of now;
- past time: 去年, 上次, a date, "着过火", "多次" make it a story;
- mood: 万一/如果/一旦/会不会 make it hypothetical; 隐患/风险/容易/存在 a hazard;
- habit: 经常/每次/"一…就" make it a pattern, "…时" a circumstance;
- framing: a long letter to 领导 asking for 整改 is a complaint even when it recounts an
  accident, unless the danger clause itself says it is happening now.

The event is replaced by a marker (``_E``) before the context is read, so the patterns can
say where a word stands relative to it ("事故隐患" vs "隐患…事故").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_E = "Ⓔ"

_SENTENCE_END = re.compile(r"[。！？!?；;\n]+")
_CLAUSE_END = re.compile(r"[，,、：:…]+")

# An event word that is only a modifier or a time frame: 火灾隐患, 车祸高发路段, 火灾时.
_ATTACHED = re.compile(
    _E + r"(的)?(隐患|风险|危险|事件|案例|事故率|发生率|高发|多发|频发|易发|时段|路段|"
    r"隐忧|现象|知识|常识|要点|预案|演练|方面|报警器|探测器|检测|原因|鉴定|伤残|处理中心|教育|"
    r"警示|保险|等(多重|安全|问题|隐患)?)|防" + _E + "|" + _E + r"(一样|似的|一般|(以|之)?后的)|"
    r"(差点|差一点|险些|几乎)(被)?.{0,2}" + _E + "|" + _E + "过|曾.{0,4}" + _E
)

# Explicit past: once the clause is dated, nothing in it is happening now.
_PAST = re.compile(
    r"\d{2,4}年|\d{1,2}月(\d{1,2}[日号])?|去年|前年|上次|上回|那次|那天|当时|曾经|"
    r"(几|多|两|三)年前|前(几|两|些)年|上个?月|上周|上星期|前(几|些|两)天|前天|昨天|昨晚|"
    r"之前|以前|此前|从前|已经发生|已发生|发生过|又一次|第一次|多次|屡次|几次|\d+次|"
    r"[一两二三四五六七八九十几]+次|(多|几|\d+)起|这几年|近几年|近年|历年|历史上"
)

# Words that put the danger in front of the reader now. "刚" covers 刚才/刚刚/刚起火.
_NOW = re.compile(
    r"正在|现在|此刻|眼下|还在|仍在|刚|快来|快点|快派|快救|救救|救命|赶紧|赶快|马上|立刻|"
    r"速来|急急|越来越|越烧越|出不去|被困|困在|来不及|快不行|快没气|不行了|快报警|报警了|已报警"
)

# Mood and habit that make the event a possibility, a hazard or a pattern.
_MOOD = re.compile(
    # hypothetical
    r"万一|如果|假如|假设|假若|倘若|要是|若是|若|一旦|一但|如遇|如有|遇到|遇上|碰到|会不会|"
    r"会否|可能|也许|恐怕|的话|否则|不然|以免|以防|防止|避免|预防|防范|杜绝|迟早|早晚|难免|"
    r"不堪设想|谁(来)?负责|谁(来)?承担|(会|将)(导致|造成|引发|诱发|发生|出现)|会.{0,3}"
    + _E
    + r"|一不小心|都(进不来|进不去|开不进|过不去)|真(要|的)?.{0,2}"
    + _E
    + "|"
    + _E
    + r"(也|太|很|特别)多|"
    # hazard
    r"隐患|风险|危险|威胁|安全事故|存在|担心|担忧|容易|极易|急易|易于|易造成|易发生|易引发|"
    # habit and circumstance
    r"经常|时常|常常|常有|常年|时有|总是|老是|每次|每当|每逢|每天|天天|每年|一到|频繁|多发|"
    r"高发|屡|不在少数|也很多|不断|"
    + _E
    + r"(时|的时候|以后|之后)|一(旦|出|发生|有|遇)?.{0,2}"
    + _E
    + r".{0,12}就(?!在|近|是)"
)

# "着火后，物业…": the event opens a clause about what followed, so it is told, not reported.
_AFTERWARDS = re.compile(_E + "(以|之)?后$")

# Rules, knowledge and aftermath: about the event rather than a report of it.
_KNOWLEDGE = re.compile(
    r"标准|规范|规定|条例|法规|如何|怎样|赔偿|理赔|保险|演练|培训|宣传|知识|常识|要点|秘诀|"
    r"须知|方法|措施|责任认定|认定书|案卷|统计|预案|费用|医疗费|谁(来)?(出|赔)"
)

# The event is over and was dealt with.
_RESOLVED = re.compile(
    r"幸亏|幸好|好在|还好|所幸|及时赶到|赶到现场|到现场处理|扑灭|被救出|救出来|已送医|"
    r"送往医院|送到医院|脱离危险|事后|事发后"
)

# A generic how-to question ("宿舍着火怎么逃生") is knowledge, not a report, unless the
# event is marked as real (了) or placed at the citizen ("家里着火怎么办").
_HOW_TO = re.compile(
    r"怎么办|咋办|该怎么|怎么(逃生|自救|灭|扑灭|处理|做|救)|注意什么|(打|拨)(什么|哪个)电话|找谁|哪个部门"
)
_PERFECTIVE = re.compile(r"了|啦")
_DEIXIS = re.compile(r"我|家里|楼下|楼上|隔壁|对面|这里|这边|门口|咱")

# What a weak event (冒烟, 打架, 家暴, 跟着我) needs to be read as happening: aspect,
# progressive 在, a present subject ("有人…"), or urgency.
_PRESENT = re.compile(r"了|啦|拉|正在|在|还在|有人|有个|一直|快|突然|！|!")

# A letter to the authorities: greetings, requests for 整改, the people addressed.
_FRAMING = re.compile(
    r"希望|建议|请求|恳请|恳求|望|领导|诉求|反映|投诉|举报|整改|有关部门|相关部门|解决|"
    r"敬礼|此致|尊敬"
)
LONG_MESSAGE = 80


@dataclass(frozen=True)
class Reading:
    """How one mention of a danger reads; ``reason`` says why, for the evaluation report."""

    ongoing: bool
    reason: str


def read_mention(text: str, start: int, end: int, weak: bool) -> Reading:
    """Whether the event at ``text[start:end]`` is an ongoing danger.

    Order matters. A dated, near-miss or "…过" mention is never now. An explicit "now" in
    the clause wins over everything after it (a citizen in danger may still write "万一"
    or "怎么办"). Mood and habit, a danger already dealt with, and a long complaint letter
    rule it out. Then a perfective "着火了" reports an event even in a question
    ("燃气泄漏了，该如何处理"), while a bare event in a question about rules or how-to
    ("宿舍着火怎么逃生") is knowledge. A weak event (冒烟, 打架) needs a sign of the present.
    """
    before, clause, after, sentence_prefix = _context(text, start, end)
    event = text[start:end]
    bare = clause.replace(_E, "")
    if _ATTACHED.search(clause) or re.search(r"着过|发生过", event):
        return Reading(False, "修饰、未遂或经历")
    if _PAST.search(bare) or _PAST.search(event):
        return Reading(False, "过去")
    if _NOW.search(bare) or _NOW.search(after):
        return Reading(True, "正在发生")
    if _PAST.search(sentence_prefix):
        return Reading(False, "过去")
    if _MOOD.search(before + clause + after) or _AFTERWARDS.search(clause):
        return Reading(False, "假设、隐患或惯常")
    if _RESOLVED.search(text):
        return Reading(False, "已处置")
    if len(text) >= LONG_MESSAGE and _FRAMING.search(text):
        return Reading(False, "投诉叙述")
    if _PERFECTIVE.search(event) or re.search(_E + "(了|啦|拉)", clause):
        return Reading(True, "报告")
    if _KNOWLEDGE.search(clause + after) or (
        _HOW_TO.search(clause + after) and not _DEIXIS.search(clause)
    ):
        return Reading(False, "常识提问")
    if weak and not _PRESENT.search(clause):
        return Reading(False, "未说明正在发生")
    return Reading(True, "报告")


def _context(text: str, start: int, end: int) -> tuple[str, str, str, str]:
    """The clause holding the event (with the event as ``_E``), its neighbours within the
    sentence, and the sentence up to the clause (where a date or 去年 usually stands)."""
    sentence_start = 0
    for found in _SENTENCE_END.finditer(text, 0, start):
        sentence_start = found.end()
    found_end = _SENTENCE_END.search(text, end)
    sentence_end = found_end.start() if found_end else len(text)
    sentence = text[sentence_start:start] + _E + text[end:sentence_end]
    clauses = _CLAUSE_END.split(sentence)
    index = next(i for i, clause in enumerate(clauses) if _E in clause)
    before = clauses[index - 1] if index > 0 else ""
    after = clauses[index + 1] if index + 1 < len(clauses) else ""
    prefix = "".join(clauses[:index])
    return before, clauses[index], after, prefix
