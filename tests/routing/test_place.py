"""The place in a message, and 属地 dispatch to the district government it names."""

from __future__ import annotations

import pytest

from bot.routing import Catalogue, RequestClassifier
from bot.routing.place import PlaceFinder


@pytest.fixture(scope="module")
def places(catalogue: Catalogue) -> PlaceFinder:
    return PlaceFinder(catalogue)


@pytest.mark.parametrize(
    ("text", "district", "adcode", "street"),
    [
        ("济南市历下区泉城路街道芙蓉街", "历下区", "370102", "泉城路街道"),
        ("历城区王舍人街道某小区", "历城区", "370112", "王舍人街道"),
        ("市中区舜玉路街道", "市中区", "370103", "舜玉路街道"),
        ("章丘区明水街道", "章丘区", "370114", "明水街道"),
        ("莱芜区凤城街道", "莱芜区", "370116", "凤城街道"),
        ("家在济阳，村里的路坏了", "济阳区", "370115", None),
        ("高新区舜华路街道", "济南高新区", "370171", "舜华路街道"),
        ("起步区崔寨街道", "济南新旧动能转换起步区", None, "崔寨街道"),
    ],
)
def test_jinan_places(
    places: PlaceFinder, text: str, district: str, adcode: str | None, street: str | None
) -> None:
    place = places.find(text)
    assert place.in_city
    assert place.district is not None and place.district.name == district
    assert place.district.adcode == adcode
    assert place.street == street


def test_a_street_alone_identifies_its_district(places: PlaceFinder) -> None:
    place = places.find("王舍人那边有个小区垃圾没人清")
    assert place.district is not None and place.district.name == "历城区"


def test_other_cities_are_recognised_as_outside(places: PlaceFinder) -> None:
    place = places.find("青岛市市南区香港中路的路灯坏了")
    assert not place.in_city
    assert place.city == "青岛市"
    assert place.district is None


def test_no_place(places: PlaceFinder) -> None:
    place = places.find("我家暖气不热")
    assert place.district is None and place.street is None and not place.in_city


def test_territorial_matter_goes_to_the_district_government(
    classifier: RequestClassifier,
) -> None:
    result = classifier.classify("槐荫区段店北路街道的路口每天晚上都有人摆摊占道经营")
    assert result.department is not None
    assert result.department.id == "district:370104"
    assert result.department.name == "济南市槐荫区人民政府"
    assert result.department.territorial
    assert result.department_alternatives[0].id == "urban_management"
    assert "属地管理" in result.reason and "槐荫区" in result.reason
    data = result.to_dict()
    assert data["district"] == "槐荫区" and data["adcode"] == "370104"
    assert data["street"] == "段店北路街道"


def test_territorial_matter_without_place_asks_for_it(classifier: RequestClassifier) -> None:
    result = classifier.classify("小区物业不作为，楼道垃圾一个星期没人清")
    assert result.department is not None
    assert result.department.id == "housing_construction"
    assert result.needs_place
    assert "补充诉求地点" in result.reason


def test_functional_area_takes_its_own_orders(classifier: RequestClassifier) -> None:
    result = classifier.classify("起步区崔寨街道有户人家在楼顶加盖违建")
    assert result.department is not None
    assert result.department.name == "济南新旧动能转换起步区管理委员会"


def test_non_territorial_matter_stays_with_the_department(
    classifier: RequestClassifier,
) -> None:
    result = classifier.classify("历下区燕山街道我家暖气不热")
    assert result.department is not None and result.department.id == "heating"
    assert result.place is not None and result.place.district is not None
    assert result.place.district.name == "历下区"


def test_other_city_is_told_to_contact_its_own_hotline(classifier: RequestClassifier) -> None:
    result = classifier.classify("青岛市市南区有人占道经营")
    assert "不属济南市管辖" in result.reason


@pytest.mark.parametrize("text", ["老城区的路灯坏了", "郊区有个工厂偷排污水", "我在矿区上班"])
def test_common_words_that_are_district_names_elsewhere_are_not_places(
    places: PlaceFinder, text: str
) -> None:
    place = places.find(text)
    assert place.city is None and place.district is None and not place.in_city
