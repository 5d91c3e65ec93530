"""Matters outside the 12345 hotline's remit, and the proper route for each.

Per 国办发〔2020〕53号 the hotline does not take matters in litigation or arbitration,
petitions already in 信访 procedures, 政府信息公开 requests, state or business secrets,
other people's privacy, or requests against public order. The citizen is told where to go
instead, politely and concretely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class OutOfScope:
    kind: str
    route: str


# Arbitration before litigation: "仲裁已经开庭" names a hearing but is not a lawsuit.
_RULES: tuple[tuple[OutOfScope, re.Pattern[str]], ...] = (
    (
        OutOfScope(
            "arbitration",
            "已申请仲裁的劳动人事争议或合同纠纷，请向受理的仲裁委员会了解进度；"
            "尚未仲裁的欠薪问题可以向我反映，我们会转人社部门处理。",
        ),
        re.compile(
            r"仲裁(委|院|庭)?.{0,6}(已经|受理|裁决|开庭|申请了|立案)|(已经|正在|申请了).{0,4}仲裁"
        ),
    ),
    (
        OutOfScope(
            "litigation",
            "已进入诉讼程序的事项，请通过审理法院或您的代理律师了解进展，"
            "也可登录人民法院在线服务或拨打12368诉讼服务热线查询。",
        ),
        re.compile(r"起诉|诉讼|打官司|立案了|开庭|判决|法院(已经)?(受理|判)|上诉|执行局|强制执行"),
    ),
    (
        OutOfScope(
            "petition",
            "已进入信访程序的事项，请按信访部门出具的受理告知书，向办理机关或上一级机关"
            "申请复查、复核；也可通过国家信访局网上信访平台查询办理情况。",
        ),
        re.compile(r"信访|上访|复查|复核意见"),
    ),
    (
        OutOfScope(
            "information_disclosure",
            "政府信息公开申请请按《中华人民共和国政府信息公开条例》，通过相关机关的政府"
            "信息公开申请渠道（门户网站“依申请公开”栏目、当面或信函）提交书面申请。",
        ),
        re.compile(r"信息公开|依申请公开|申请公开"),
    ),
    (
        OutOfScope(
            "privacy_or_secret",
            "涉及他人个人隐私、国家秘密或商业秘密的信息，热线无法提供；如确有需要，"
            "请通过司法机关等法定途径依法调取。",
        ),
        re.compile(
            r"(查|告诉我|提供|要).{0,8}(别人|他人|某人|邻居|前妻|前夫|同事).{0,8}(电话|住址|身份证|信息|开房|行踪)|国家秘密|商业秘密|机密文件"
        ),
    ),
)

_GENERIC = OutOfScope(
    "other",
    "这个问题不在12345热线的受理范围内。我可以帮您查询政策和标准、"
    "反映城市管理和民生方面的问题、查询工单进度，或为您转接人工客服。",
)


def detect_out_of_scope(text: str) -> OutOfScope | None:
    compact = re.sub(r"\s+", "", text)
    for scope, pattern in _RULES:
        if pattern.search(compact):
            return scope
    return None


def out_of_scope_reply(text: str) -> str:
    """Guidance for a message the NLU judged out of scope; specific when the kind is known."""
    scope = detect_out_of_scope(text) or _GENERIC
    if scope is _GENERIC:
        return scope.route
    return f"抱歉，这类事项12345热线不能受理。{scope.route}"
