"""The account's custom menu and what its CLICK buttons mean to the assistant.

WeChat allows at most 3 top-level buttons (names up to 16 bytes) with up to 5 sub-buttons
each (names up to 60 bytes), so the four services share the third button. A CLICK sends
the assistant the intent payload of the matching dialogue (``/intent`` is understood by
Rasa directly), which keeps a menu tap and the typed request on the same path.
"""

from __future__ import annotations

from typing import Any

from bot.wechat.ports import MenuApi, WeChatApiError

CLICK_PAYLOADS: dict[str, str] = {
    "HOTLINE_STANDARD": "/ask_standard",
    "HOTLINE_REPORT": "/report",
    "HOTLINE_TICKET": "/check_ticket",
    "HOTLINE_HUMAN": "/ask_human",
}

MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "标准查询", "key": "HOTLINE_STANDARD"},
        {"type": "click", "name": "我要反映", "key": "HOTLINE_REPORT"},
        {
            "name": "更多服务",
            "sub_button": [
                {"type": "click", "name": "工单查询", "key": "HOTLINE_TICKET"},
                {"type": "click", "name": "人工服务", "key": "HOTLINE_HUMAN"},
            ],
        },
    ]
}

MENU_HINT = "点击下方菜单“标准查询”“我要反映”，或在“更多服务”里选择“工单查询”“人工服务”"


def menu_problems(menu: dict[str, Any]) -> list[str]:
    """WeChat's rules for a custom menu; an empty list means WeChat will accept it."""
    problems: list[str] = []
    buttons = menu.get("button") or []
    if not 1 <= len(buttons) <= 3:
        problems.append("a menu has 1 to 3 top-level buttons")
    for button in buttons:
        name = str(button.get("name", ""))
        if not 0 < len(name.encode()) <= 16:
            problems.append(f"top-level name {name!r} must be 1 to 16 bytes")
        subs = button.get("sub_button")
        if subs is None:
            problems.extend(_leaf_problems(button))
            continue
        if not 1 <= len(subs) <= 5:
            problems.append(f"{name!r} needs 1 to 5 sub-buttons")
        for sub in subs:
            sub_name = str(sub.get("name", ""))
            if not 0 < len(sub_name.encode()) <= 60:
                problems.append(f"sub-button name {sub_name!r} must be 1 to 60 bytes")
            problems.extend(_leaf_problems(sub))
    return problems


def _leaf_problems(button: dict[str, Any]) -> list[str]:
    kind = button.get("type")
    if kind == "click":
        key = str(button.get("key", ""))
        if not 0 < len(key.encode()) <= 128:
            return [f"click key {key!r} must be 1 to 128 bytes"]
        if key not in CLICK_PAYLOADS:
            return [f"click key {key!r} is unknown to the gateway"]
        return []
    if kind == "view":
        return (
            []
            if str(button.get("url", "")).startswith(("http://", "https://"))
            else ["view buttons need an http(s) url"]
        )
    return [f"unsupported button type {kind!r}"]


async def install_menu(api: MenuApi, menu: dict[str, Any] = MENU) -> None:
    """Checks ``menu`` against WeChat's rules, then has WeChat install it."""
    problems = menu_problems(menu)
    if problems:
        raise WeChatApiError(None, "; ".join(problems))
    await api.create_menu(menu)
