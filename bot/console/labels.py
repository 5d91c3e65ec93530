"""Chinese labels for the identifiers the console shows (intents, roles, channels, …)."""

from __future__ import annotations

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
    "nlu_fallback": "未能识别",
}

ENTITY_LABELS = {
    "standard_number": "标准编号",
    "ticket_number": "工单编号",
    "phone_number": "电话号码",
    "location": "地点",
}

ROLE_LABELS = {"citizen": "市民", "bot": "智能助手", "agent": "话务员", "system": "系统"}

CHANNEL_LABELS = {"webchat": "网页", "wechat": "微信", "rest": "接口", "phone": "电话"}

STATUS_LABELS = {
    "ok": "正常回复",
    "emergency": "紧急情况提示",
    "engine_unavailable": "对话引擎不可用",
    "empty": "空消息",
    "too_long": "消息过长",
    "symbols_only": "仅含表情符号",
    "rate_limited": "发送过快",
}


def intent_label(intent: str | None) -> str:
    if not intent:
        return "—"
    label = INTENT_LABELS.get(intent)
    return f"{label}（{intent}）" if label else intent
