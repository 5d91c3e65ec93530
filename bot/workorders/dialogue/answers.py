"""Reading a citizen's answer to one question of a form.

Each ``read_*`` function returns the value to store, or raises :class:`Unclear` with a
polite Chinese sentence that says how to answer. The answers are read with rules, not
with the intent the NLU model guessed: "需要保密", "不用打电话" or "地址写错了" mean
something only in the context of the question that was asked, and rules can be tested
exhaustively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.routing import REQUEST_TYPES
from bot.workorders.dialogue.summary import STAFF_CHOOSE, UnitOption
from bot.workorders.models import Rating
from bot.workorders.numbers import find_number
from bot.workorders.phone import InvalidPhone, validate_phone

MAX_MATTER_CHARS = 2000
MAX_LOCATION_CHARS = 120
MAX_NAME_CHARS = 12
MAX_NOTE_CHARS = 1000


class Unclear(ValueError):
    """The answer cannot be used; ``message`` tells the citizen how to answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_PUNCTUATION = re.compile(r"[\s,，.。!！?？、;；:：~～…\"'“”‘’()（）【】\[\]]+")


def compact(text: str) -> str:
    """The answer without spaces and punctuation, lower-cased: what the rules look at."""
    return _PUNCTUATION.sub("", text).lower()


def tidy(text: str) -> str:
    """The answer as the citizen wrote it, without surrounding spaces and end punctuation."""
    return " ".join(text.split()).strip(" ,，.。!！?？;；~～")


# A whole message that only says "stop": 不办了, 取消, 算了不登记了 … A longer message that
# contains such a word ("公交站点取消了") is a description, not a request to stop.
_QUIT = re.compile(
    r"^(?:算了|那|好吧|那就|我|我还是|还是)?"
    r"(?:先|暂时|现在)?"
    r"(?:取消|撤销|撤回|退出|不办了|不弄了|不登记了|不反映了|不提交了|不投诉了|不举报了|"
    r"不报了|不查了|不评价?了|不补充了|不说了|结束登记|取消登记|取消提交|不想办了|不想弄了|"
    r"不想登记了|不想反映了|不想提交了)"
    r"(?:了|吧|啊|吗|哈|呀)*$"
)


def is_quit(text: str) -> bool:
    return bool(_QUIT.match(compact(text)))


_YES = re.compile(
    r"^(?:是|是的|对|对的|嗯+|恩+|好|好的|好滴|行|可以|同意|愿意|需要|要|当然|没问题|ok|okay|"
    r"yes|y|中|妥|确定|确认|没错|好啊|行啊|可以的|要的)"
)
_NO = re.compile(r"^(?:不|别|没有|没|否|甭|无需|no|n$|拒绝|算了)")


def _yes_no(text: str) -> bool | None:
    words = compact(text)
    if _NO.match(words) and not words.startswith(("没问题", "不错")):
        return False
    if _YES.match(words):
        return True
    return None


_CONSENT_NO = re.compile(
    r"不同意|不愿意|不接受|拒绝|不方便|(?:不要|别|不用|不需要|不想|不必)"
    r"(?:给我)?(?:联系|打|来电|回访|电话)"
)
_CONSENT_YES = re.compile(r"同意|愿意|可以|接受|没问题|联系我|打我电话|打电话|回访吧|行|好")


def read_consent(text: str) -> bool:
    """同意 / 不同意 that the handling unit calls the citizen."""
    words = compact(text)
    answer = _yes_no(text)
    if _CONSENT_NO.search(words) or answer is False:
        return False
    if answer or _CONSENT_YES.search(words):
        return True
    raise Unclear("请回复“同意”或“不同意”承办单位通过电话与您联系。")


_SECRET_NO = re.compile(
    r"(?:不用|不需要|无需|不必|没必要|不要|甭|别|不)保密|无所谓|都行|可以公开|公开也行|没关系|不介意"
)
_SECRET_YES = re.compile(
    r"保密|匿名|(?:不要|别|不想|不能|不愿)(?:透露|公开|泄露|告诉|暴露)|不公开|不想让.{0,10}知道"
)


def read_confidential(text: str) -> bool:
    """需要保密 / 不需要保密."""
    words = compact(text)
    if _SECRET_NO.search(words):
        return False
    if _SECRET_YES.search(words):
        return True
    answer = _yes_no(text)
    if answer is None:
        raise Unclear("请回复“需要保密”或“不需要保密”。")
    return answer


_SKIP = re.compile(
    r"^(?:跳过|不用|不必|不需要|不留|不想|不方便|匿名|算了|无|没有|不告诉|保密|随便|都行|不说|"
    r"不了|skip)"
)
_NAME_PREFIX = re.compile(r"^(?:我的名字是|我的名字叫|我叫|我是|叫我|称呼我|您?可以叫我|名字是)")
_SURNAME = re.compile(r"^(?:我)?姓([\u4e00-\u9fff]{1,2})$")
_NAME_SUFFIX = re.compile(r"(?:就行了?|就可以了?|即可|吧|呀|啊|哈)$")


def read_name(text: str) -> str:
    """How to address the citizen; "" when they prefer not to say (跳过, 不用 …)."""
    words = compact(text)
    if not words or _SKIP.match(words):
        return ""
    name = _NAME_SUFFIX.sub("", _NAME_PREFIX.sub("", words))
    surname = _SURNAME.match(name)
    if surname:
        name = f"姓{surname.group(1)}"
    if not name or len(name) > MAX_NAME_CHARS or re.search(r"\d", name):
        raise Unclear("称呼请简短一些，例如“王女士”“李先生”；不想留称呼可以说“跳过”。")
    return name


_LOCATION_PREFIX = re.compile(
    r"^(?:(?:地点|地址|位置|具体地点|具体位置|具体地址|地方|事发地点)(?:是|在|:|：)*)?"
    r"(?:是在|就在|在|位于|发生在)?"
)
_LOCATION_UNKNOWN = re.compile(r"^(?:我)?(?:不知道|不清楚|不记得|忘了|说不清|不确定|不好说)")


_CONTACT_ENTITIES = ("phone_number", "citizen_name")
_CONTACT_WORDS = re.compile(
    r"(?:我的)?(?:联系)?(?:电话|手机|号码|方式)(?:是|为|:|：)?|我姓|我叫|称呼|叫我|^我(?=\s|$)"
)


def without_contact(text: str, entities: Sequence[Mapping[str, Any]]) -> str:
    """The answer with the phone number and name taken out: citizens often give them where
    the place was asked ("我姓李，电话139…"); they fill their own slots, not the place."""
    spans = sorted(
        (int(e["start"]), int(e["end"]))
        for e in entities
        if e.get("entity") in _CONTACT_ENTITIES
        and isinstance(e.get("start"), int)
        and isinstance(e.get("end"), int)
    )
    if not spans:
        return text
    kept, cursor = [], 0
    for start, end in spans:
        if start >= cursor:
            kept.append(text[cursor:start])
            cursor = end
    kept.append(text[cursor:])
    rest = _CONTACT_WORDS.sub(" ", " ".join(kept))
    return tidy(re.sub(r"[\s,，。;；、]+", " ", rest))


def read_location(text: str) -> str:
    """The place the matter is about, as the citizen describes it."""
    place = _LOCATION_PREFIX.sub("", tidy(text))
    if _LOCATION_UNKNOWN.match(compact(place)):
        raise Unclear("大概的位置也可以，比如在哪个区县、哪条路或哪个小区附近。请问大概的地点是？")
    if len(compact(place)) < 2:
        raise Unclear("请把地点说得具体一些，比如区县、街道、小区或道路名称。")
    if meaningful_chars(place) < 2:  # "我要投诉" again, "你好", "在吗": no place in it
        raise Unclear("好的，正在为您登记，还需要知道这件事发生在哪里。")
    if len(place) > MAX_LOCATION_CHARS:
        raise Unclear(f"地点请简要说明，不超过 {MAX_LOCATION_CHARS} 个字。")
    return place


# Words that say what kind of request it is but nothing about the matter itself.
_FILLER = re.compile(
    r"你好|您好|喂|在吗|请问|麻烦|帮忙|帮我|一下|我|想|要|需要|有个?|一个|个|点|事情?|问题|情况|"
    r"投诉|举报|反映|求助|建议|表扬|提|登记|工单|12345|热线|的|了|吗|啊|呀|吧"
)


def meaningful_chars(text: str) -> int:
    """How many characters say something about the matter once the filler is removed."""
    return len(_FILLER.sub("", compact(text)))


def read_matter(text: str) -> str:
    matter = tidy(text)
    if meaningful_chars(matter) < 3:
        raise Unclear("能再具体说说吗？比如发生了什么事、持续多久、对您有什么影响。")
    if len(matter) > MAX_MATTER_CHARS:
        raise Unclear(f"诉求内容请控制在 {MAX_MATTER_CHARS} 字以内，可以分几次补充。")
    return matter


_REFUSE_PHONE = re.compile(r"^(?:不用|不想|不留|不给|不方便|不要|没有|算了|保密|不愿意)")
_DIGIT_RUN = re.compile(
    r"[+＋]?[0-9０-９][0-9０-９\s\-－—()（）]{4,}[0-9０-９](?:\s*(?:转|分机)\s*[0-9]{1,6})?"
)


# "138****1234": copied from a screen or a public record that hides part of the number.
_MASKED_PHONE = re.compile(r"[0-9０-９]\s*[*＊×xX]{2,}\s*[0-9０-９]")


def read_phone(text: str, found: Iterable[str] = ()) -> str:
    """A dialable mainland number in canonical form, from the answer or the phone numbers
    the NLU already found in it (``found``)."""
    found = tuple(found)
    if _REFUSE_PHONE.match(compact(text)):
        raise Unclear(
            "联系电话是承办单位与您联系、回访的必要信息，我们会严格保护您的隐私。"
            "如果不方便留电话，可以说“取消”结束登记，或直接拨打12345热线。"
        )
    runs = [match.group(0) for match in _DIGIT_RUN.finditer(text)]
    errors: list[str] = []
    for candidate in (*found, *runs, text):
        try:
            return validate_phone(candidate).number
        except InvalidPhone as exc:
            errors.append(exc.message)
    if _MASKED_PHONE.search(text):
        raise Unclear(
            "号码里有“*”，像是隐去了几位数字。方便承办单位联系您，请提供完整的电话号码，"
            "我们会严格保护您的隐私。"
        )
    # The first number-like part of the answer says best what is wrong with it.
    raise Unclear(errors[len(found)])


def read_number(text: str) -> str:
    """A work-order (GD…) or acceptance (SL…) number in the answer."""
    number = find_number(text)
    if number is None:
        raise Unclear("请提供以 GD 开头的工单号或以 SL 开头的受理号，例如 GD2026112900012。")
    return number


def read_ticket_ref(text: str, found_phones: Sequence[str] = ()) -> str:
    """What a citizen looks up by: a GD/SL number, or the phone their orders were filed
    with (canonical form)."""
    number = find_number(text)
    if number is not None:
        return number
    try:
        return read_phone(text, found_phones)
    except Unclear:
        raise Unclear(
            "请提供工单号（GD 开头）或受理号（SL 开头）；也可以提供登记时留下的手机号，"
            "查询您名下的全部工单。"
        ) from None


_DISSATISFIED = re.compile(
    r"不满意|不太满意|差评|很差|太差|没有?解决|没办好|不认可|敷衍|不行|重办|重新办"
)
_BASIC = re.compile(r"基本满意|比较满意|还行|一般|凑合|还可以|马马虎虎|过得去")
_SATISFIED = re.compile(r"满意|好评|很好|挺好|不错|解决了|办好了|点赞|谢谢|感谢")


def read_rating(text: str) -> Rating:
    words = compact(text)
    if _DISSATISFIED.search(words):
        return Rating.DISSATISFIED
    if _BASIC.search(words):
        return Rating.BASICALLY_SATISFIED
    if _SATISFIED.search(words):
        return Rating.SATISFIED
    raise Unclear("请选择对办理结果的评价：满意、基本满意或不满意。")


def find_rating(text: str) -> Rating | None:
    try:
        return read_rating(text)
    except Unclear:
        return None


def read_note(text: str, optional: bool) -> str:
    """Free text (a supplement, a comment); "" when ``optional`` and the citizen skips."""
    note = tidy(text)
    if optional and (not note or _SKIP.match(compact(note))):
        return ""
    if len(compact(note)) < 2:
        raise Unclear("请多说几句，方便承办单位了解情况。")
    if len(note) > MAX_NOTE_CHARS:
        raise Unclear(f"请控制在 {MAX_NOTE_CHARS} 字以内，可以分几次补充。")
    return note


class Choice(StrEnum):
    SUBMIT = "submit"
    MERGE = "merge"
    CANCEL = "cancel"
    MODIFY = "modify"
    WHICH_FIELD = "which_field"


@dataclass(frozen=True)
class Decision:
    """The citizen's answer to the summary: submit, merge into ``target``, cancel, or
    modify the slot named ``target`` (WHICH_FIELD: modify, but which field is unclear)."""

    choice: Choice
    target: str = ""

    def encode(self) -> str:
        return f"{self.choice.value}:{self.target}" if self.target else self.choice.value

    @classmethod
    def decode(cls, value: str) -> Decision:
        choice, _, target = value.partition(":")
        return cls(Choice(choice), target)


# What the citizen may change at the summary besides the form's answers: chosen from
# buttons (``read_request_type``, ``read_unit``) rather than asked again.
CHOSEN_TYPE = "request_type"
CHOSEN_UNIT = "department"

# The form's fields, with the words a citizen uses for them; checked in this order, so
# that 联系电话 means the phone and not the consent to be contacted, and 诉求类型 the type
# and not the matter.
FIELD_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("phone_number", ("电话", "手机", "号码", "联系方式")),
    ("location", ("地点", "地址", "位置", "地方", "在哪")),
    ("citizen_name", ("称呼", "姓名", "名字", "怎么称呼")),
    ("confidential", ("保密", "匿名")),
    ("consent_contact", ("联系", "回访", "同意")),
    (CHOSEN_TYPE, ("类型", "类别", "分类")),
    (CHOSEN_UNIT, ("承办", "单位", "部门", "派单", "派给")),
    ("matter", ("诉求", "内容", "问题", "事情", "描述", "情况", "经过")),
)

_NO_CHANGE = re.compile(r"(?:不用|不需要|无需|不必|没有?要|没什么要|没啥要)(?:修改|更改|改)")
_MODIFY = re.compile(r"修改|更改|改|更正|有误|不对|错了|写错|说错|不正确")
_CANCEL = re.compile(r"取消|不提交|先不交|不办了|不反映了|不登记了|撤回|不要提交|算了")
_NO_MERGE = re.compile(
    r"(?:不用|不要|不必|不需要|别|不)(?:合并|并单|并入|并)|单独|新建|重新提交|新的"
)
_MERGE = re.compile(r"并入|合并|并单|一起办|一并")
_SUBMIT = re.compile(
    r"确认|提交|确定|没问题|可以|对的|^对|是的|^是|好的|^好|^行|^嗯|ok|没错|正确|无误|单独|新建"
)


def read_decision(text: str, candidates: Sequence[str]) -> Decision:
    """确认提交 / 修改(…) / 取消 / 并入工单GD… after the summary was read back."""
    words = compact(text)
    number = find_number(text)
    if _CANCEL.search(words):
        return Decision(Choice.CANCEL)
    unchanged = _NO_CHANGE.sub("", words)
    if _MODIFY.search(unchanged):
        for field, names in FIELD_WORDS:
            if any(name in unchanged for name in names):
                return Decision(Choice.MODIFY, field)
        return Decision(Choice.WHICH_FIELD)
    if not _NO_MERGE.search(words) and (_MERGE.search(words) or number):
        if number is not None:
            if number in candidates:
                return Decision(Choice.MERGE, number)
            raise Unclear(
                "只能并入为您找到的相同诉求的工单，请点击对应的“并入工单”按钮，或选择“确认提交”。"
            )
        if len(candidates) == 1:
            return Decision(Choice.MERGE, candidates[0])
        if candidates:
            raise Unclear("请告诉我要并入哪一个工单，例如“并入工单" + candidates[0] + "”。")
        raise Unclear("没有找到可以并入的相同诉求，请选择“确认提交”“修改”或“取消”。")
    if _SUBMIT.search(words):
        return Decision(Choice.SUBMIT)
    raise Unclear("请选择：确认提交、修改或取消。")


_NOT_SURE = re.compile(r"不确定|不知道|不清楚|说不好|不好说|随便|都行|都可以|你们(?:定|看|判断)")
_STAFF = re.compile(r"工作人员|人工|热线")


def read_request_type(text: str, predicted: str) -> str:
    """The type the citizen picks; "不确定" keeps the ``predicted`` one. Of several types
    named ("不是投诉，是举报") the last counts."""
    words = compact(text)
    named = [(words.rfind(kind), kind) for kind in REQUEST_TYPES if kind in words]
    if named:
        return max(named)[1]
    if _NOT_SURE.search(words):
        return predicted
    raise Unclear(f"请从{'、'.join(REQUEST_TYPES)}中选择一项。")


def read_unit(text: str, units: Sequence[UnitOption]) -> str:
    """The unit the citizen picks from those offered, by full or short name; "" leaves it
    to the hotline staff ("不确定，由工作人员判断")."""
    words = compact(text)
    if words == compact(STAFF_CHOOSE) or _NOT_SURE.search(words) or _STAFF.search(words):
        return ""
    for unit in units:
        name, short = compact(unit.name), compact(unit.short_name)
        if words == name or (short and short in words) or (len(words) >= 3 and words in name):
            return unit.name
    raise Unclear(
        "请从列出的单位中选择一个；不确定的话，请选择“不确定，由工作人员判断”，"
        "热线工作人员会为您派给合适的单位。"
    )
