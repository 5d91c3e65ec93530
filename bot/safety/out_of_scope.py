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


@dataclass(frozen=True)
class _Route:
    """A legal route is out of scope only for a matter already in it that the citizen asks
    the hotline to chase or change ("已经起诉了，法院什么时候判"). The same words as
    background ("对方让我去起诉", "只能走仲裁", "民事诉讼法规定…") belong to complaints
    and questions the hotline takes. ``direct`` asks the hotline for the court's or the
    arbitrator's own work ("替我写起诉状", "督促一下判决") and is out of scope by itself."""

    scope: OutOfScope
    in_route: re.Pattern[str]
    direct: re.Pattern[str] | None = None


# What a citizen asks about a case: its progress, that someone intervene, or that its
# outcome be changed ("判得不公平").
_CASE_ASK = re.compile(
    r"催|督促|督办|干预|过问|插手|施压|加快|再管|管一下|问问|打听|进度|进展|怎么样了|咋样了|"
    r"(有|出)(没有)?结果|什么时候|何时|啥时候|多久|改判|推翻|撤销|不服|不公|错判|冤|申诉|"
    r"重审|再审|改一下|帮(我|忙|一下)|替我|给我|能不能|能否"
)
# The ask must concern the case, so it has to follow closely on the words that put the
# matter in the route; a question about something else later in the letter does not count.
_ASK_REACH = 24

# Arbitration before litigation: "仲裁已经开庭" names a hearing but is not a lawsuit.
_ROUTES: tuple[_Route, ...] = (
    _Route(
        OutOfScope(
            "arbitration",
            "已申请仲裁的劳动人事争议或合同纠纷，请向受理的仲裁委员会了解进度；"
            "尚未仲裁的欠薪问题可以向我反映，我们会转人社部门处理。",
        ),
        re.compile(
            r"(已经|已|正在)(申请|提起|提交|在)?(了)?.{0,4}仲裁|申请了仲裁|仲裁(中|期间|阶段)|"
            r"仲裁(委|院|庭)?.{0,6}(已经|已|受理了|立案了|开过庭|开庭了|裁决了|还没出|都开过)"
        ),
        re.compile(r"(给|帮)我.{0,4}(直接)?裁决|(催|督促|干预|过问).{0,6}(仲裁委|仲裁庭|裁决)"),
    ),
    _Route(
        OutOfScope(
            "litigation",
            "已进入诉讼程序的事项，请通过审理法院或您的代理律师了解进展，"
            "也可登录人民法院在线服务或拨打12368诉讼服务热线查询。",
        ),
        re.compile(
            r"(已经|已|正在)(向法院)?(起诉|提起诉讼|立案|开庭|上诉|判决|判了|审理)|"
            r"(起诉|立案|上诉|宣判|判)(了|过了)|判决(书)?下来|法院(已经|已)?(受理|立案|判|审理)|"
            r"案子在(法院|走)|(走|进入|在走)(了)?(诉讼|司法)程序|诉讼(中|期间)|强制执行|执行局"
        ),
        re.compile(
            r"(替|帮|给)(我|俺)?.{0,4}(写|起草|代写).{0,3}(起诉状|诉状|上诉书|答辩状)|替我打官司|"
            r"(催|督促|干预|过问).{0,6}(法院|法官|判决|开庭|诉讼)|(你们|12345).{0,8}强制执行"
        ),
    ),
    _Route(
        OutOfScope(
            "petition",
            "已进入信访程序的事项，请按信访部门出具的受理告知书，向办理机关或上一级机关"
            "申请复查、复核；也可通过国家信访局网上信访平台查询办理情况。",
        ),
        re.compile(
            r"(我|我们|本人|俺).{0,10}(上访|信访)|上访的事|信访(事项|件|案件)|"
            r"信访局.{0,10}(受理|告知书|答复|意见)|信访.{0,6}(复查|复核)|(复查|复核)意见"
        ),
    ),
)

_DISCLOSURE = OutOfScope(
    "information_disclosure",
    "政府信息公开申请请按《中华人民共和国政府信息公开条例》，通过相关机关的政府"
    "信息公开申请渠道（门户网站“依申请公开”栏目、当面或信函）提交书面申请。",
)
# A request to disclose, not a remark that a company should be open ("企业信息公开是…").
_DISCLOSURE_REQUEST = re.compile(
    r"(要|想|需要|我)申请.{0,4}信息公开|依申请公开|政府信息公开申请|"
    r"(把|将).{1,20}(文件|纪要|材料|方案|批文|审批|合同).{0,6}公开(一下|出来|给我)"
)
_PRIVACY = OutOfScope(
    "privacy_or_secret",
    "涉及他人个人隐私、国家秘密或商业秘密的信息，热线无法提供；如确有需要，"
    "请通过司法机关等法定途径依法调取。",
)
_PRIVACY_REQUEST = re.compile(
    r"(查|告诉我|提供|要).{0,8}(别人|他人|某人|邻居|前妻|前夫|同事).{0,8}(电话|住址|身份证|信息|开房|行踪)|"
    r"国家秘密|商业秘密|机密文件"
)

_GENERIC = OutOfScope(
    "other",
    "这个问题不在12345热线的受理范围内。我可以帮您查询政策和标准、"
    "反映城市管理和民生方面的问题、查询工单进度，或为您转接人工客服。",
)


def detect_out_of_scope(text: str) -> OutOfScope | None:
    """The legal route a message belongs to, or None for everything the hotline takes,
    including questions and complaints that merely mention a lawsuit or a petition."""
    compact = re.sub(r"\s+", "", text)
    for route in _ROUTES:
        if route.direct is not None and route.direct.search(compact):
            return route.scope
        for found in route.in_route.finditer(compact):
            if _CASE_ASK.search(compact, found.start(), found.end() + _ASK_REACH):
                return route.scope
    if _DISCLOSURE_REQUEST.search(compact):
        return _DISCLOSURE
    if _PRIVACY_REQUEST.search(compact):
        return _PRIVACY
    return None


def out_of_scope_reply(text: str) -> str:
    """Guidance for a message the NLU judged out of scope; specific when the kind is known."""
    scope = detect_out_of_scope(text) or _GENERIC
    if scope is _GENERIC:
        return scope.route
    return f"抱歉，这类事项12345热线不能受理。{scope.route}"
