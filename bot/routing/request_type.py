"""The request type (诉求类型): 咨询, 求助, 投诉, 举报, 建议 or 表扬.

济南市12345市民服务热线条例 names the first five; praise letters come too. Citizens say what
they want in a few recurring phrasings ("请问…", "我要投诉…", "建议增设…"), so a weighted set
of cue patterns works across topics where a topic-trained classifier would not. Cues near the
end of a message weigh more, because that is where the citizen states the request after
describing the background.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.routing.text import normalise

REQUEST_TYPES = ("咨询", "求助", "投诉", "举报", "建议", "表扬")

_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "咨询": (
        (r"请问|想问|问一下|问问|咨询|想了解|了解一下|想知道|请告知|告知一下|答疑", 2.0),
        (
            r"如何|怎么办理|怎样|怎么申请|怎么操作|怎么查|怎么缴|去哪|在哪里?办|哪里可以|哪个部门",
            1.5,
        ),
        (r"什么时候|何时|多久|多长时间|几月|哪天|时间节点|进度如何|进展如何|进展情况", 1.5),
        (r"是否|能否|可否|能不能|可不可以|是不是|有没有|算不算|需不需要|会不会", 1.0),
        (r"需要(哪些|什么|提供)|材料|手续|流程|条件|资格|标准是|政策", 0.8),
        (r"[?？]", 1.0),
        (r"吗[?？。!！]?$", 1.0),
    ),
    "求助": (
        (r"求助|求求|帮帮|救救|救助|走投无路|无家可归|没有办法|无能为力|急需|急用", 2.5),
        (r"帮忙|帮我|请帮|帮助我们|恳请|恳求|拜托|望领导帮", 1.5),
        (r"困难|生活困难|看不起病|没钱|无力|孤寡|瘫痪|重病", 1.0),
        (r"停水|停电|停气|不供暖|没暖气|被困|漏水|堵了|坏了", 0.8),
    ),
    "投诉": (
        (r"投诉|不满|太差|恶劣|蛮横|刁难|推诿|扯皮|敷衍|不作为|乱作为|不负责", 2.5),
        (r"扰民|噪音|噪声|吵得|无法入睡|睡不着|苦不堪言|臭味|异味|脏乱|油烟|堵塞", 1.5),
        (r"拖欠|欠薪|不发工资|不给钱|不退|拒不|拒绝退|退款|退费|乱收费|多收|强制|霸王", 1.5),
        (r"没人管|无人管|没有人管|至今|迟迟|一直没|多次反映|反映多次|屡次|依然|仍然|还是没", 1.2),
        (r"严重影响|影响.{0,4}(休息|生活|出行|通行|安全)|安全隐患|损坏|破损|坑洼", 1.0),
        (
            r"希望.{0,6}(解决|处理|整改|管管|查处|督促)|请.{0,6}(解决|处理|整改|管管)|尽快.{0,4}(解决|处理)",
            1.0,
        ),
    ),
    "举报": (
        (r"举报|检举|揭发|实名反映", 3.0),
        (
            r"违法|违规|非法|偷排|私排|偷税|漏税|骗保|骗取|传销|赌博|涉嫌|黑作坊|无证|无照|假冒|造假",
            1.5,
        ),
        (r"违建|违章建|私搭乱建|乱搭乱建|偷偷|私自|擅自|非法占用", 1.2),
    ),
    "建议": (
        (r"建议|提议|倡议|呼吁|意见和建议|几点意见|献计|谏言", 3.0),
        (
            r"希望.{0,8}(增加|增设|开通|设置|设立|建设|修建|安装|延长|调整|优化|出台|放开|考虑|取消|恢复|严管|规范|完善|重视|关注|支持)",
            2.0,
        ),
        (
            r"(能否|可否|是否可以|能不能|可不可以).{0,6}(增加|增设|开通|设置|考虑|调整|延长|建设|修建)",
            1.8,
        ),
        (r"应该|应当|理应|有必要|亟需|亟待|迫切需要|可以考虑|不妨|加大力度|加强", 1.0),
        (r"完善|优化|改进|推广|规范化|便民|惠民|提升|改善|合理化|长效机制", 0.8),
        (
            r"纳入|放宽|降低.{0,6}(门槛|标准|比例|费用)|提高.{0,6}(标准|比例|待遇|额度)|减轻.{0,6}负担|出台.{0,6}(政策|措施|办法)|调研|统筹|加快.{0,6}(建设|推进|进度)",
            1.0,
        ),
    ),
    "表扬": (
        (r"表扬|点赞|赞扬|称赞|致敬|锦旗|感谢信|表彰", 3.0),
        (
            r"(感谢|谢谢).{0,12}(帮助|帮忙|解决|辛苦|辛勤|付出|热心|耐心|及时|负责)|为民办实事|尽职尽责|热情周到|非常满意",
            2.0,
        ),
    ),
}

_COMPILED = {
    kind: tuple((re.compile(pattern), weight) for pattern, weight in cues)
    for kind, cues in _CUES.items()
}

# Without any cue a message most often describes a problem it wants fixed.
_PRIOR = {"咨询": 0.4, "求助": 0.1, "投诉": 0.6, "举报": 0.0, "建议": 0.4, "表扬": 0.0}


@dataclass(frozen=True)
class RequestType:
    request_type: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    cues: tuple[str, ...]
    # Every type with its share, best first: the learned model picks a type group and these
    # shares choose within it (投诉 or 举报, 建议 or 表扬).
    shares: tuple[tuple[str, float], ...] = ()

    def reason(self) -> str:
        if not self.cues:
            return f"未出现明显的诉求类型提示语，按问题描述默认判为“{self.request_type}”"
        return f"出现“{self.request_type}”类提示语“{'、'.join(self.cues[:4])}”"


def classify_request_type(text: str) -> RequestType:
    clean = normalise(text)
    length = max(len(clean), 1)
    scores = dict(_PRIOR)
    found: dict[str, list[str]] = {kind: [] for kind in REQUEST_TYPES}
    for kind, cues in _COMPILED.items():
        for pattern, weight in cues:
            hits = list(pattern.finditer(clean))
            if not hits:
                continue
            # A cue counts once, plus a little for repeats; late cues state the request.
            position = max(match.end() for match in hits) / length
            scores[kind] += weight * (1.0 + 0.5 * position) * (1.0 + 0.2 * min(len(hits) - 1, 3))
            found[kind].extend(match.group(0) for match in hits[:2])
    total = sum(math.exp(score) for score in scores.values())
    ranked = sorted(
        ((kind, math.exp(score) / total) for kind, score in scores.items()),
        key=lambda item: item[1],
        reverse=True,
    )
    best = ranked[0][0]
    return RequestType(
        request_type=best,
        confidence=ranked[0][1],
        alternatives=tuple(ranked[:3]),
        cues=tuple(dict.fromkeys(found[best])),
        shares=tuple(ranked),
    )
