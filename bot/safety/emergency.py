"""Emergency diversion: 12345 is not an emergency line (国办发〔2020〕53号).

A message describing a fire, a crime in progress, an injury, a traffic accident or a
gas leak happening now is answered at once with the right number; it is never queued or
ticketed. The same words also appear in complaints and hazard reports ("一出交通事故就
堵死", "存在火灾隐患", "去年着过火"), which must be ticketed instead, so finding the event
is only half the work: ``bot.safety.reading`` decides from the sentence around it whether
it is happening now. Both the gateway (before Rasa, so it works when Rasa is down) and the
routing classifier call ``detect_emergency``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.safety.reading import read_mention


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
_DROWNING = Emergency(
    "drowning",
    "110",
    "公安报警",
    "请大声呼救，向落水者抛救生圈、木板等漂浮物，不会游泳不要下水；同时拨打120。",
)
# "救命" or "出大事了" without saying what: the reply lists every number.
_UNSPECIFIED = Emergency("unspecified", "110", "紧急求助", "")


@dataclass(frozen=True)
class _Rule:
    emergency: Emergency
    pattern: re.Pattern[str]
    # A weak event (冒烟, 打架, 家暴) is also said of habits and scenes; it counts only
    # with a sign of the present (了, 正在, 有人…).
    weak: bool = False


# Ordered by precedence: a gas leak is also "smell" and "fire" risk, so it comes first;
# a traffic accident with injuries still goes to 122 (which coordinates 120); someone
# beaten and bleeding goes to 110, which sends the ambulance as well.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        _GAS,
        re.compile(
            r"(煤气|燃气|天然气|液化气)(罐|管道?|灶|阀门?)?.{0,6}(泄漏|泄露|漏气|漏了|在漏|嘶嘶)|"
            r"闻到.{0,6}(煤气|燃气|天然气|液化气)味|(煤气|燃气|天然气)味(道|儿)?(很|特别|非常|太)?(大|浓|重|呛)|"
            r"(大|浓|重|呛)的(煤气|燃气|天然气|液化气)味"
        ),
    ),
    _Rule(
        _FIRE,
        re.compile(
            r"(?<!生)着(过|了)?火|着(伙|活)了|失火|起火|火灾(了|啦)|发生(了)?(火灾|大火)|(烧|着)起来|火(很|特别|非常|太)大|"
            r"火势|火越(烧|来)越|越烧越(大|旺)|爆炸|爆燃|冒火|火苗|救火|灭火器.{0,4}(不够|没用)"
        ),
    ),
    _Rule(
        _FIRE,
        re.compile(r"冒(黑|浓|白)?烟|浓烟|(全|满)是烟|(?<!油)烟(特别|很|非常|太)大"),
        weak=True,
    ),
    _Rule(
        _TRAFFIC,
        re.compile(
            r"(出|发生)(了)?.{0,4}(车祸|交通事故)|车祸|撞车|追尾|被.{0,5}车(给)?撞|撞(倒|伤|飞|死)(了)?人|撞(倒|伤|飞)了|"
            r"撞人|被撞(倒|伤|飞)|(两|几|三|多)(辆)?.{0,2}车.{0,3}(相撞|撞|碰)|车.{0,4}撞(一块|在一起|上了)|"
            r"翻车|车.{0,3}翻了"
        ),
    ),
    _Rule(
        _CRIME,
        re.compile(
            r"抢劫|抢包|抢了.{0,4}(包|手机|钱|项链|东西)|持刀|拿(着)?(刀|棍子?|棒|砖头|斧头|刀子)|"
            r"动刀|砍人|砍(伤|了)|(乱|追着.{0,3})砍|杀人|捅(人|了)|被.{0,2}捅|伤人|绑架|劫持|"
            r"(正在|有人|小偷).{0,2}(撬|偷)|撬.{0,3}门|进(了)?贼|(拽|拖|抱|拉)(上车|走了)|强行带走|"
            r"要打我|围殴|不让我(走|下车|出去|离开)|(锁|绑|关)在.{0,6}(屋|房|车|里)|被绑|"
            r"跳楼(?!价|甩卖)|跳河|跳桥|(要|想)往下跳|不想活了|轻生|自杀|人贩子|闯进|打砸|砸车|在砸"
        ),
    ),
    _Rule(
        _CRIME,
        re.compile(r"打人|被人打|打架|打起来|正在打|家暴|猥亵|性骚扰|跟踪|跟着我|入室盗窃"),
        weak=True,
    ),
    _Rule(
        _MEDICAL,
        re.compile(
            r"晕倒|晕到|昏倒|昏迷|(昏|晕)过去|不省人事|没(有)?(了)?(呼吸|心跳|意识|气了)|呼吸困难|"
            r"喘不(上|过)(来)?气|脸色发紫|心脏病(发|犯)|心梗|脑梗|中风了|抽搐|口吐白沫|大出血|血流不止|"
            r"头破血流|流了(好多|很多|一地|一身)的?血|一直(在)?流血|中毒了|喝了?(农药|敌敌畏)|"
            r"吃了.{0,4}(农药|老鼠药|安眠药)|割腕|快不行了|(需要|叫|快叫|等)(个)?(急救|救护车)|"
            r"烫伤|烧伤|吞了|误吞|噎住|卡(住|在)(喉咙|嗓子)|一动不动|(叫|喊|拍).{0,4}(没|不)(有)?反应|"
            r"(叫|喊)不醒|(有人|人|孩子|小孩|老人|工人|老大爷|老太太).{0,10}(掉|摔|坠|跌)(下来|下去|下楼)|"
            r"坠楼|(摔|跌)(伤|倒).{0,6}(动不了|起不来|不能动|流血)|倒地不起|说不出话|半边身子|"
            r"口眼歪斜|羊水破|要生了|高烧.{0,4}抽|胸口(疼|痛)|胸痛"
        ),
    ),
    _Rule(
        _MEDICAL,
        re.compile(r"(摔|跌)倒|被.{0,3}咬(伤|了)|受伤|流血|出血"),
        weak=True,
    ),
    _Rule(
        _DROWNING,
        re.compile(
            r"落水(?!管)|溺水|掉(进|到)?(河|湖|水|海|井|池塘|水库)(里)?了?|淹着了|沉下去了|"
            r"(河|湖|水|池|海)里.{0,4}(扑腾|挣扎)"
        ),
    ),
    _Rule(
        _UNSPECIFIED,
        re.compile(r"救命(?!钱|药|稻草|恩)|快来人|快派人|出大事了|快报警|救救我"),
    ),
)


@dataclass(frozen=True)
class EmergencyAssessment:
    """The ongoing emergency a message describes, if any, and why: for a danger only
    mentioned (a past fire, a hazard) the reason names the words and how they read, so a
    false alarm or a miss in ``python -m bot safety eval`` can be understood."""

    emergency: Emergency | None
    reason: str = ""


def assess_emergency(text: str) -> EmergencyAssessment:
    compact = _compact(text)
    first_mention = ""
    for rule in _RULES:
        for found in rule.pattern.finditer(compact):
            reading = read_mention(compact, found.start(), found.end(), rule.weak)
            if reading.ongoing:
                return EmergencyAssessment(rule.emergency, f"{found.group(0)}：{reading.reason}")
            first_mention = first_mention or f"{found.group(0)}：{reading.reason}"
    return EmergencyAssessment(None, first_mention)


def detect_emergency(text: str) -> Emergency | None:
    """The ongoing emergency a message describes, or None (also for past, hypothetical or
    hazard mentions, which are complaints or reports to be ticketed)."""
    return assess_emergency(text).emergency


def _compact(text: str) -> str:
    """Line breaks end sentences (real messages are often lists without punctuation);
    other spaces and the runs of ``*`` that mask names in public data carry no meaning."""
    text = re.sub(r"\s*\n\s*", "。", text.strip())
    text = re.sub(r"\s+", "", text)
    return re.sub(r"[*＊]+", "*", text)


def emergency_reply(emergency: Emergency | None) -> str:
    """The reply to an emergency; without a known kind it lists all the numbers."""
    if emergency is None or emergency is _UNSPECIFIED:
        return (
            "如果您正在遇到紧急情况，请立即拨打：火灾、燃气泄漏拨打119，"
            "治安警情拨打110，医疗急救拨打120，交通事故拨打122；说不清属于哪类时请拨打110。"
            "12345热线不受理紧急警情，请不要耽误时间。"
        )
    return (
        f"这是紧急情况，请立即拨打{emergency.number}（{emergency.service}）！"
        f"{emergency.advice}12345热线无法出警或派出急救，请不要在这里等待。"
    )
