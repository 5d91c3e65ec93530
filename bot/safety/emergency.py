"""Emergency diversion: 12345 is not an emergency line (国办发〔2020〕53号).

A message describing a fire, a crime in progress, an injury, a traffic accident or a
gas leak is answered at once with the right number; it is never queued or ticketed.
Detection is a high-precision rule set: a past event told as background ("去年着火的
赔偿怎么办") or a question about regulations ("消防通道标准") must not trigger it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Emergency:
    kind: str
    number: str
    service: str
    advice: str


_FIRE = Emergency("fire", "119", "消防救援", "请立即撤离到安全地带，不要乘坐电梯，不要返回取物。")
_GAS = Emergency(
    "gas_leak",
    "119",
    "消防救援",
    "请立即关闭燃气阀门、打开门窗通风，不要开关电器、不要使用明火和手机，迅速撤离到室外后再拨打。",
)
_CRIME = Emergency(
    "crime", "110", "公安报警", "请先确保自身安全，远离危险人员，记住对方特征和去向。"
)
_MEDICAL = Emergency(
    "medical", "120", "医疗急救", "请保持电话畅通，说清楚详细地址和病人情况，不要随意搬动伤者。"
)
_TRAFFIC = Emergency(
    "traffic_accident",
    "122",
    "交通事故报警",
    "请开启危险报警闪光灯、在车后放置警示标志，人员撤到护栏外；如有人受伤请同时拨打120。",
)

# Ordered by precedence: a gas leak is also "smell" and "fire" risk, so it comes first;
# a traffic accident with injuries still goes to 122 (which coordinates 120).
_RULES: tuple[tuple[Emergency, re.Pattern[str]], ...] = (
    (
        _GAS,
        re.compile(
            r"(煤气|燃气|天然气|液化气)(罐)?.{0,6}(泄漏|泄露|漏气|漏了|味道很大|味很大|味儿很大)|闻到.{0,4}(煤气|燃气|天然气)味"
        ),
    ),
    (
        _FIRE,
        re.compile(
            r"着火了|失火了|起火了|烧起来|火灾了|发生火灾|冒(黑|浓)?烟了|浓烟|火很大|火势|爆炸了|炸了.{0,4}(火|烟)|(家|楼|屋|房子|厨房|车|仓库|店|工厂|小区|山|林).{0,6}(着火|起火|失火)"
        ),
    ),
    (
        _TRAFFIC,
        re.compile(
            r"(出|发生)(了)?车祸|车祸现场|撞车了|追尾了|被车撞了|(两|几|三)车相撞|(发生|出了).{0,4}交通事故|翻车了|撞人了"
        ),
    ),
    (
        _MEDICAL,
        re.compile(
            r"晕倒|昏迷|昏过去|不省人事|没(有)?(了)?呼吸|没(有)?心跳|心脏病(发|犯)|抽搐|口吐白沫|大出血|血流不止|流了很多血|(摔|跌)伤.{0,4}(动不了|起不来)|中毒了|喝了农药|割腕|快不行了|(需要|叫|快叫|等)急救"
        ),
    ),
    (
        _CRIME,
        re.compile(
            r"抢劫|抢包|持刀|拿刀|砍人|杀人|打人了|有人(在)?打架|正在打|绑架|劫持|小偷(正在|在)|(正在|有人)(撬|偷)|入室盗窃|家暴|跳楼|要跳河|轻生|人贩子|猥亵|被人跟踪|有人闯进"
        ),
    ),
)

_PAST_OR_GENERAL = re.compile(
    r"去年|前年|上个月|上月|几年前|以前|曾经|之前|早就|经常|总是|常常|多发|容易|要点|常识|标准|规范|规定|条例|怎么(处理|赔偿|理赔|定责)|赔偿|理赔|保险|演练|培训|宣传|知识"
)


def detect_emergency(text: str) -> Emergency | None:
    """The emergency a message describes, or None.

    Text about the past or about rules (standards, compensation, drills) is not an
    emergency even when it names one, unless it also says it is happening now.
    """
    compact = re.sub(r"\s+", "", text)
    for emergency, pattern in _RULES:
        if pattern.search(compact):
            if _PAST_OR_GENERAL.search(compact) and not _is_now(compact):
                return None
            return emergency
    return None


def _is_now(text: str) -> bool:
    return bool(re.search(r"现在|正在|刚刚|刚才|马上|快来|救命|赶紧|紧急", text))


def emergency_reply(emergency: Emergency | None) -> str:
    """The reply to an emergency; without a known kind it lists all the numbers."""
    if emergency is None:
        return (
            "如果您正在遇到紧急情况，请立即拨打：火灾、燃气泄漏拨打119，"
            "治安警情拨打110，医疗急救拨打120，交通事故拨打122。"
            "12345热线不受理紧急警情，请不要耽误时间。"
        )
    return (
        f"这是紧急情况，请立即拨打{emergency.number}（{emergency.service}）！"
        f"{emergency.advice}12345热线无法出警或派出急救，请不要在这里等待。"
    )
