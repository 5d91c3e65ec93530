"""The questions the work-order forms ask, keyed like Rasa's ask actions
(``action_ask_<key>``: a slot, or ``<form>_<slot>`` where two forms ask differently).

They live here rather than as domain responses because some depend on the request type,
and because Rasa 3.6's data validation counts a form's ``utter_ask_*`` responses as unused.
The question for the place must contain the word 地点.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    text: str
    buttons: tuple[str, ...] = ()

    def button_list(self) -> list[dict[str, str]]:
        return [{"title": title, "payload": title} for title in self.buttons]


_MATTER_BY_TYPE = {
    "建议": "请说说您的建议：希望改进什么、为什么，以及您的具体想法。",
    "表扬": "请说说您要表扬的单位或工作人员，以及让您满意的经过。",
    "举报": "感谢您的举报。请说说您要举报的情况：什么人或单位、做了什么、从什么时候开始。",
    "求助": "别着急，我来帮您登记。请说说您遇到了什么困难，需要什么帮助。",
}
_MATTER = (
    "好的，我来帮您登记工单。请简要描述一下要反映的问题：发生了什么事、持续多久、对您有什么影响。"
)
_LOCATION_BY_TYPE = {
    "表扬": "请问您要表扬的单位在哪里，或事情发生的地点是？（例如“槐荫区政务服务中心”）",
    "建议": "请问您的建议涉及的地点或区域是？（例如“历城区洪家楼路口”；涉及全市的可以说“全市”）",
}
_LOCATION = (
    "请问事情发生的具体地点在哪里？请尽量说明区县、街道、小区或道路名称，例如“历下区泉城路123号”。"
)
_VERIFY_PHONE = "请提供登记这件工单时留下的联系电话，用于核实您的身份。"

PROMPTS: dict[str, Prompt] = {
    "phone_number": Prompt(
        "请留下您的联系电话（手机号或带区号的座机），方便承办单位与您联系和回访，"
        "我们会严格保护您的隐私。"
    ),
    "citizen_name": Prompt(
        "请问怎么称呼您？例如“王女士”“李先生”；不想留称呼可以说“跳过”。", ("跳过",)
    ),
    "consent_contact": Prompt(
        "办理过程中承办单位可能需要电话向您了解情况，办结后热线也会回访。"
        "您是否同意承办单位通过电话与您联系？",
        ("同意", "不同意"),
    ),
    "confidential": Prompt(
        "是否需要对您的个人信息保密？选择保密后，您的姓名和电话不会透露给被反映的单位或个人，"
        "这件诉求也不会与他人的诉求合并办理。",
        ("需要保密", "不需要保密"),
    ),
    "ticket_ref": Prompt(
        "请提供您的工单号（如 GD2026112900012）或受理号（SL 开头）；"
        "也可以提供登记时留下的手机号，查询您名下的全部工单。"
    ),
    "ticket_proof": Prompt(
        "为保护您的个人信息，请再提供一个您用这个号码登记过的工单号或受理号，"
        "核实后为您列出全部工单。"
    ),
    "supplement_form_ticket_number": Prompt(
        "请提供要补充情况的工单号（GD 开头）或受理号（SL 开头）。"
    ),
    "supplement_form_phone_number": Prompt(_VERIFY_PHONE),
    "supplement_text": Prompt("请说说需要补充的情况，例如新的进展、更准确的地点或时间。"),
    "rating_form_ticket_number": Prompt("请提供要评价的工单号（GD 开头）或受理号（SL 开头）。"),
    "rating_form_phone_number": Prompt(_VERIFY_PHONE),
    "rating": Prompt("请问您对这件工单的办理结果是否满意？", ("满意", "基本满意", "不满意")),
    "rating_comment": Prompt(
        "很抱歉没能让您满意。请简单说说哪里不满意，我们会转承办单位重新办理；"
        "不想说可以回复“跳过”。",
        ("跳过",),
    ),
}


def prompt_for(key: str, request_type: str = "") -> Prompt:
    """The question for ``key``; the matter and the place are asked per request type."""
    if key == "matter":
        return Prompt(_MATTER_BY_TYPE.get(request_type, _MATTER))
    if key == "location":
        return Prompt(_LOCATION_BY_TYPE.get(request_type, _LOCATION))
    return PROMPTS[key]
