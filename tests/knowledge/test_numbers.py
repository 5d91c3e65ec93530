"""Standard numbers as citizens, agents and real catalogues write them."""

from __future__ import annotations

import pytest

from bot.knowledge.numbers import (
    find_standard_numbers,
    normalise_standard_number,
    parse_standard_number,
)

VARIANTS = [
    # (as written, canonical, version-independent key)
    ("GB/T 33358-2016", "GB/T 33358-2016", "GB 33358"),
    ("GB/T33358-2016", "GB/T 33358-2016", "GB 33358"),
    ("GB/T 33358—2016", "GB/T 33358-2016", "GB 33358"),
    ("GB/T 33358–2016", "GB/T 33358-2016", "GB 33358"),
    ("GB/T 33358 - 2016", "GB/T 33358-2016", "GB 33358"),
    ("ＧＢ／Ｔ　３３３５８－２０１６", "GB/T 33358-2016", "GB 33358"),
    ("gb/t 33358-2016", "GB/T 33358-2016", "GB 33358"),
    ("GBT33358-2016", "GB/T 33358-2016", "GB 33358"),
    ("GB T 33358-2016", "GB/T 33358-2016", "GB 33358"),
    ("GB/T 33358", "GB/T 33358", "GB 33358"),
    ("国标33358", "GB 33358", "GB 33358"),
    ("国家标准 33358-2016", "GB 33358-2016", "GB 33358"),
    ("推荐性国标33358", "GB/T 33358", "GB 33358"),
    ("GB 5749—2022", "GB 5749-2022", "GB 5749"),
    ("GB5749-2022", "GB 5749-2022", "GB 5749"),
    ("GB/Z 40836-2021", "GB/Z 40836-2021", "GB 40836"),
    ("GB 3095-82", "GB 3095-1982", "GB 3095"),
    ("GB 3096-93", "GB 3096-1993", "GB 3096"),
    ("GBJ 16-87", "GBJ 16-1987", "GBJ 16"),
    ("GB 50016-2014(2018年版)", "GB 50016-2014", "GB 50016"),
    ("GB/T 19851.11-2005", "GB/T 19851.11-2005", "GB 19851.11"),
    ("DB37T 4560", "DB37/T 4560", "DB37 4560"),
    ("DB37/T 4560-2022", "DB37/T 4560-2022", "DB37 4560"),
    ("DB 37/T 2904-2019", "DB37/T 2904-2019", "DB37 2904"),
    ("DB37/2376-2019", "DB37/2376-2019", "DB37 2376"),
    ("DB12/ 684-2016", "DB12/684-2016", "DB12 684"),
    ("DB3303/T013-2020", "DB3303/T 013-2020", "DB3303 13"),
    ("DB13/T\n5651.5-2023", "DB13/T 5651.5-2023", "DB13 5651.5"),
    ("DB32／T 4412-2022", "DB32/T 4412-2022", "DB32 4412"),
    ("DB14/ T 1763-2018", "DB14/T 1763-2018", "DB14 1763"),
    ("DB3701/T 12-2020", "DB3701/T 12-2020", "DB3701 12"),
    ("T/CECS 10-2019", "T/CECS 10-2019", "T/CECS 10"),
    ("T/CSGF T/CSGF024—2023", "T/CSGF 024-2023", "T/CSGF 24"),
    ("T/BSSF  0001—2024", "T/BSSF 0001-2024", "T/BSSF 1"),
    ("T/XCFW TG06-011.3—2023", "T/XCFW TG06-011.3-2023", "T/XCFW TG6-11.3"),
    ("T/PTSHOES GS001—2017", "T/PTSHOES GS001-2017", "T/PTSHOES GS1"),
    ("T/DLSHXH T/DLSHXH 001--2017", "T/DLSHXH 001-2017", "T/DLSHXH 1"),
    ("Q/GDW 1234-2014", "Q/GDW 1234-2014", "Q/GDW 1234"),
    ("JYT 0629-2020", "JY/T 0629-2020", "JY 629"),
    ("JY/T 629-2020", "JY/T 629-2020", "JY 629"),
    ("TY/T 3501.6-2024", "TY/T 3501.6-2024", "TY 3501.6"),
    ("JGJ/T 98-2010", "JGJ/T 98-2010", "JGJ 98"),
    ("JGJ 146-2013", "JGJ 146-2013", "JGJ 146"),
    ("HJ 2.2-2018", "HJ 2.2-2018", "HJ 2.2"),
    ("HJ 633—2012", "HJ 633-2012", "HJ 633"),
    ("GA 802-2019", "GA 802-2019", "GA 802"),
    ("QB/T 1206-1991", "QB/T 1206-1991", "QB 1206"),
    ("TSG 21-2016", "TSG 21-2016", "TSG 21"),
]


@pytest.mark.parametrize(("written", "canonical", "key"), VARIANTS)
def test_every_real_variant_gets_one_canonical_form(written: str, canonical: str, key: str) -> None:
    number = parse_standard_number(written)
    assert number is not None, written
    assert number.canonical == canonical
    assert number.match_key == key


@pytest.mark.parametrize(
    "text",
    [
        "我的工单GD2026112900012办得怎么样了",
        "请拨打12345或者13800138000",
        "2016年的标准",
        "GB标准是什么意思",
        "国标是强制的吗",
        "ISO 9001:2015",
        "ABC 123-2020",
    ],
)
def test_text_without_a_standard_number_yields_none(text: str) -> None:
    assert find_standard_numbers(text) == []


def test_numbers_are_found_inside_chinese_sentences_in_order() -> None:
    text = "《政府热线服务规范》（GB/T 33358-2016）和gb/t33357—2016都是现行标准吗？"
    assert [n.canonical for n in find_standard_numbers(text)] == [
        "GB/T 33358-2016",
        "GB/T 33357-2016",
    ]


def test_a_number_at_the_end_of_a_sentence_keeps_its_year() -> None:
    assert normalise_standard_number("Is GB/T 33358-2016. current?") == "GB/T 33358-2016"
    assert normalise_standard_number("请问GB 5749-2022。") == "GB 5749-2022"


def test_adopted_international_number_does_not_hide_the_chinese_one() -> None:
    assert normalise_standard_number("GB/T 19001-2016/ISO 9001:2015") == "GB/T 19001-2016"


def test_the_same_number_written_twice_is_reported_once() -> None:
    assert len(find_standard_numbers("GB/T 33358-2016，也就是GB/T33358—2016")) == 1


def test_editions_share_a_key_but_are_different_editions() -> None:
    old = parse_standard_number("GB 5749-2006")
    new = parse_standard_number("GB 5749—2022")
    assert old is not None and new is not None
    assert old.match_key == new.match_key
    assert not old.same_edition(new)


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("GB/T 33358-2016", "国家标准"),
        ("HJ 633-2012", "行业标准"),
        ("DB37/T 3881-2020", "地方标准"),
        ("T/CECS 10-2019", "团体标准"),
        ("Q/GDW 1234-2014", "企业标准"),
    ],
)
def test_prefix_implies_the_type_of_standard(written: str, kind: str) -> None:
    number = parse_standard_number(written)
    assert number is not None and number.standard_type == kind
