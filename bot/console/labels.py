"""Chinese labels for the identifiers the console shows (intents, roles, channels, …).

Supervisors read Chinese only: every intent, entity, slot, channel and status the system
can write has a label here (``tests/supervisor/test_console_labels.py`` checks this against
``domain.yml`` and the code that writes statuses), and a button press stored as its payload
(``/ask_standard{"standard_number": "GB/T 33358"}``) is told in words.
"""

from __future__ import annotations

import json
import re
from typing import Any

INTENT_LABELS = {
    "greet": "问候",
    "goodbye": "告别",
    "thank": "致谢",
    "affirm": "肯定",
    "deny": "否定",
    "bot_challenge": "询问是否机器人",
    "ask_human": "要求转人工",
    "out_of_scope": "超出受理范围",
    "emergency": "紧急情况",
    "consult": "咨询",
    "seek_help": "求助",
    "complain": "投诉",
    "report": "举报",
    "suggest": "建议",
    "praise": "表扬",
    "ask_standard": "查询标准",
    "ask_department": "询问承办部门",
    "ask_materials": "询问办事材料",
    "check_ticket": "查询工单",
    "inform": "补充信息",
    "register_request": "登记工单",
    "supplement_ticket": "补充工单信息",
    "rate_ticket": "评价工单",
    "merge_request": "合并诉求",
    "stop_request": "不再办理",
    "nlu_fallback": "未能识别",
    # the gateway's own button commands (bot/handoff/texts.py), never sent to Rasa
    "handoff_cancel": "取消排队",
    "handoff_note": "留言",
}

# Entities and slots share names in domain.yml, so one table serves both.
ENTITY_LABELS = {
    "standard_number": "标准编号",
    "ticket_number": "工单编号",
    "phone_number": "电话号码",
    "location": "地点",
    "citizen_name": "姓名",
    "knowledge_id": "知识条目",
    "answered_entry": "答复所依据的知识条目",
    "answered_department": "答复中的承办单位",
    "request_type": "诉求类型",
    "matter": "诉求内容",
    "consent_contact": "是否同意回访",
    "confidential": "是否需要保密",
    "request_decision": "是否提交工单",
    "decision_prompt": "提交前的确认",
    "request_routing": "分派建议",
    "chosen_request_type": "选定的诉求类型",
    "chosen_department": "选定的承办单位",
    "merge_options": "可合并的工单",
    "ticket_ref": "工单查询号",
    "ticket_proof": "查询验证信息",
    "supplement_text": "补充内容",
    "rating": "满意度评价",
    "rating_comment": "评价意见",
}

# What the assistant did in a turn: domain.yml's actions, responses and forms, and the Rasa
# built-ins a turn can show.
ACTION_LABELS = {
    "action_emergency_diversion": "紧急情况分流",
    "action_out_of_scope_guidance": "告知受理范围",
    "action_answer_knowledge": "知识库答复",
    "action_handle_unclear": "处理未明确的诉求",
    "action_small_talk": "日常寒暄",
    "action_answer_department": "答复承办部门",
    "action_handoff": "转人工",
    "action_start_request": "开始登记诉求",
    "action_handle_inform": "处理补充信息",
    "action_start_ticket_lookup": "开始查询工单",
    "action_start_supplement": "开始补充工单",
    "action_start_rating": "开始评价工单",
    "action_stop_form": "停止办理",
    "action_ask_matter": "询问诉求内容",
    "action_ask_location": "询问地点",
    "action_ask_phone_number": "询问联系电话",
    "action_ask_citizen_name": "询问姓名",
    "action_ask_consent_contact": "询问是否同意回访",
    "action_ask_confidential": "询问是否保密",
    "action_ask_ticket_ref": "询问工单号",
    "action_ask_ticket_proof": "询问查询验证信息",
    "action_ask_supplement_form_ticket_number": "询问要补充的工单号",
    "action_ask_supplement_form_phone_number": "询问补充工单的联系电话",
    "action_ask_supplement_text": "询问补充内容",
    "action_ask_rating_form_ticket_number": "询问要评价的工单号",
    "action_ask_rating_form_phone_number": "询问评价工单的联系电话",
    "action_ask_rating": "询问满意度",
    "action_ask_rating_comment": "询问评价意见",
    "validate_workorder_form": "核对登记信息",
    "validate_ticket_form": "核对查询信息",
    "validate_supplement_form": "核对补充信息",
    "validate_rating_form": "核对评价信息",
    "action_ask_request_decision": "请市民确认提交",
    "action_submit_request": "提交工单",
    "action_check_ticket": "查询工单进度",
    "action_supplement_ticket": "补充工单",
    "action_rate_ticket": "评价工单",
    "workorder_form": "登记工单表单",
    "ticket_form": "查询工单表单",
    "supplement_form": "补充工单表单",
    "rating_form": "评价工单表单",
    "utter_greet": "问候",
    "utter_goodbye": "告别",
    "utter_you_are_welcome": "回应致谢",
    "utter_iamabot": "说明自己是机器人",
    "utter_affirm_ack": "回应肯定",
    "utter_deny_ack": "回应否定",
    "utter_default": "答复“没有完全理解”",
    "utter_consult_received": "询问咨询的具体内容",
    "utter_ask_standard_detail": "询问标准号",
    "utter_ask_department_detail": "询问具体事项",
    "utter_ask_materials_detail": "询问办理的业务",
    "utter_merge_without_request": "说明合并诉求的方式",
    "action_default_fallback": "默认兜底答复",
    "action_two_stage_fallback": "两步兜底确认",
    "action_deactivate_loop": "结束表单",
    "action_restart": "重新开始",
    "action_session_start": "开始会话",
    "action_extract_slots": "提取信息",
    "action_unlikely_intent": "意图不太可能",
}

ROLE_LABELS = {"citizen": "市民", "bot": "智能助手", "agent": "话务员", "system": "系统"}

CHANNEL_LABELS = {"webchat": "网页", "wechat": "微信", "rest": "接口", "phone": "电话"}

STATUS_LABELS = {
    "ok": "正常回复",
    "emergency": "紧急情况提示",
    "engine_unavailable": "对话引擎不可用",
    "empty_reply": "对话引擎未作答",
    "empty": "空消息",
    "too_long": "消息过长",
    "symbols_only": "仅含表情符号",
    "rejected": "消息未受理",
    "rate_limited": "发送过快",
    "channel_reply": "渠道自动回复",
    "waiting": "排队等待人工",
    "with_agent": "人工服务中",
    "handoff_offered": "建议转人工",
    "handoff_waiting": "已进入人工排队",
    "handoff_unavailable": "人工暂不可用",
    "handoff_cancelled": "已取消排队",
    "not_waiting": "未在排队",
    "note_prompt": "请市民留言",
    "note_left": "已留言",
    "note_cancelled": "已取消留言",
    "workorder": "工单进展通知",
}

_PAYLOAD = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$", re.DOTALL)


def _label(table: dict[str, str], key: str | None) -> str:
    if not key:
        return "—"
    return table.get(key, key)


def intent_label(intent: str | None) -> str:
    return _label(INTENT_LABELS, intent)


def entity_label(entity: str | None) -> str:
    return _label(ENTITY_LABELS, entity)


def actions_text(actions: list[str]) -> str:
    return "、".join(_label(ACTION_LABELS, a) for a in actions)


def entities_text(entities: list[dict[str, Any]], key: str = "value") -> str:
    """``地点=历下区；地点=文化东路``: each entity with its label, separated."""
    return "；".join(f"{entity_label(e.get('entity'))}={e.get(key)}" for e in entities)


def describe_payload(text: str) -> str | None:
    """A button payload in words ("查询标准（标准编号：GB/T 33358）"); None for typed text.

    Used when the button's own title is not on record (a WeChat menu click, a row written
    before its buttons were kept).
    """
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    label = intent_label(match["intent"])
    try:
        values = json.loads(match["entities"] or "{}")
    except ValueError:
        return label
    if not isinstance(values, dict) or not values:
        return label
    details = "；".join(f"{entity_label(str(k))}：{v}" for k, v in values.items())
    return f"{label}（{details}）"
