"""Typical citizens' messages reach the department a Jinan 12345 agent would choose.

The messages are written for these tests in the way callers speak; none comes from the
development data used for tuning.
"""

from __future__ import annotations

import pytest

from bot.routing import RequestClassifier

CASES = [
    ("经十路一家火锅店后厨特别脏，昨天吃完全家拉肚子", "market_regulation"),
    ("在健身房办了五千块钱的年卡，现在老板跑路了，钱退不回来", "market_regulation"),
    ("超市卖的牛奶已经过期了还摆在货架上", "market_regulation"),
    ("买的房子交房一年了开发商还办不下房产证", "housing_construction"),
    ("隔壁工地每天晚上十二点还在打桩，吵得孩子睡不着", "housing_construction"),
    ("想申请公租房，需要满足什么条件", "housing_security"),
    ("路边有人私搭乱建，在绿化带上盖了个铁皮房", "urban_management"),
    ("我们这条路的路灯坏了快一个月，晚上黑乎乎的", "urban_management"),
    ("化工厂晚上偷偷排放废气，味道特别刺鼻", "ecology_environment"),
    ("出租车司机不打表，到了地方要我一百块钱", "transport"),
    ("想问一下驾驶证到期了怎么换证", "traffic_police"),
    ("学校门口早上乱停车，把路堵死了", "traffic_police"),
    ("孩子刚出生，新生儿落户需要带什么材料", "public_security"),
    ("楼上邻居养的狗整夜叫唤，也不拴绳", "public_security"),
    ("干了三个月活，包工头一直拖欠工资不给", "human_resources_social_security"),
    ("退休了养老金什么时候开始发放", "human_resources_social_security"),
    ("在外地住院，医保能不能报销，异地就医怎么备案", "medical_insurance"),
    ("社区医院给孩子打预防针要提前预约吗", "health"),
    ("孩子明年上小学，我们小区划到哪个学校", "education"),
    ("校外培训机构收了一年学费突然关门了", "education"),
    ("家里老人生活困难，想申请低保", "civil_affairs"),
    ("新建小区的规划公示在哪里能看到，楼间距太近挡光", "natural_resources_planning"),
    ("小清河里漂着很多垃圾，河道没人清理", "water_affairs"),
    ("单位一直没给我们缴住房公积金", "housing_provident_fund"),
    ("我们小区今天突然停电了，也没提前通知", "power_supply"),
    ("家里自来水发黄，还有一股怪味", "water_supply"),
    ("新房怎么开通天然气，燃气公司一直不来", "gas_supply"),
    ("供暖都半个月了，暖气片还是冰凉的", "heating"),
    ("跟旅行社报的团，导游带我们去强制购物", "culture_tourism"),
    ("工厂违规储存危险化学品，存在很大安全隐患", "emergency_management"),
    ("我们村的种粮补贴今年还没发下来", "agriculture_rural"),
    ("个人所得税汇算清缴怎么申请退税", "taxation"),
    ("退伍军人的优待证在哪里办理", "veterans_affairs"),
    ("想给孩子办残疾证，需要去哪里鉴定", "disabled_persons_federation"),
    ("爱山东APP一直登录不上，人脸识别总是失败", "big_data"),
    ("家里经济困难打不起官司前想先咨询律师，怎么申请法律援助", "justice"),
    ("小区楼道里的消防栓没有水，消防通道也被堵了", "fire_rescue"),
    ("家里宽带网速特别慢，运营商一直不给修", "telecom"),
    ("快递员不送货上门，直接扔到驿站还收费", "postal"),
    ("公园里的大树枝快断了，随时会砸到人", "landscaping_forestry"),
    ("公交车到站不停，等了四十分钟才来一辆", "public_transit"),
    ("地铁站出入口太少了，走过去要绕很远", "rail_transit"),
    ("公园的健身器材坏了好久没人修", "sports"),
    ("有人以高息理财为名非法集资，已经有很多老人上当", "financial_regulation"),
    ("我们村拆迁三年了，拆迁补偿款到现在还没发", "district_government"),
]


@pytest.mark.parametrize(("message", "expected"), CASES)
def test_message_routes_to_expected_department(
    classifier: RequestClassifier, message: str, expected: str
) -> None:
    result = classifier.classify(message)
    assert result.department_alternatives, message
    lead = result.department_alternatives[0]
    assert lead.id == expected, (message, [c.id for c in result.department_alternatives])
    assert result.department_confidence > 0.3
    assert lead.short_name in result.reason


def test_top3_lists_plausible_alternatives(classifier: RequestClassifier) -> None:
    result = classifier.classify("饭店的油烟直接排到居民楼里，熏得没法开窗")
    ids = [candidate.id for candidate in result.department_alternatives]
    assert len(ids) == 3
    assert ids[0] == "urban_management"
    assert "ecology_environment" in ids
    confidences = [candidate.confidence for candidate in result.department_alternatives]
    assert confidences == sorted(confidences, reverse=True)
    assert 0 < sum(confidences) <= 1.0


def test_reason_names_the_catalogue_entry_and_duty(classifier: RequestClassifier) -> None:
    result = classifier.classify("暖气不热，屋里只有十五度")
    assert result.department is not None and result.department.id == "heating"
    assert "匹配派单目录“热力集团”的典型事项“暖气不热、室温不达标”" in result.reason
    assert "对应职责" in result.reason
    assert "暖气" in result.department_alternatives[0].reason


def test_unrelated_text_is_not_forced_onto_a_department(classifier: RequestClassifier) -> None:
    result = classifier.classify("嗯嗯好的")
    assert result.department is None
    assert "人工分派" in result.reason
