"""并单 detection: same matter at the same place, and nothing else."""

from __future__ import annotations

from bot.workorders.merge import Matter, compare, summary

LAMP = Matter(
    "幸福小区3号楼门口的路灯坏了好几天，晚上一片漆黑", "历下区幸福小区3号楼", "市城市管理局"
)


def test_same_matter_reworded_is_detected() -> None:
    other = Matter("3号楼门口路灯不亮，晚上走路很危险", "济南市历下区幸福小区3号楼门口")
    assert compare(other, LAMP).is_same


def test_other_building_or_other_street_is_not_the_same_place() -> None:
    assert not compare(Matter("路灯坏了好几天", "历下区幸福小区5号楼"), LAMP).is_same
    assert not compare(Matter("路灯坏了好几天", "槐荫区经十路100号"), LAMP).is_same


def test_other_matter_at_the_same_place_is_not_merged() -> None:
    noise = Matter("楼下饭店油烟太大，熏得没法开窗", "历下区幸福小区3号楼")
    assert not compare(noise, LAMP).is_same


def test_different_departments_never_merge() -> None:
    other = Matter("3号楼门口路灯不亮", "历下区幸福小区3号楼", "国网济南供电公司")
    assert not compare(other, LAMP).is_same


def test_no_address_no_merge() -> None:
    assert not compare(Matter("路灯坏了", ""), LAMP).is_same


def test_summary_masks_personal_data() -> None:
    text = summary("我是张先生电话13812345678，3号楼门口路灯坏了好几天晚上一片漆黑走路危险请尽快修")
    assert "13812345678" not in text and "138****5678" in text
    assert len(text) <= 40 and text.endswith("…")


def test_address_parts_decide_between_buildings_units_and_rooms() -> None:
    lamp = Matter("小区门口路灯坏了，晚上一片漆黑", "历下区经十路88号3号楼", "市城市管理局")
    same_matter = "小区门口路灯坏了好几天"
    assert compare(Matter(same_matter, "济南市历下区经十路88号3号楼门口"), lamp).is_same
    assert not compare(Matter(same_matter, "历下区经十路88号5号楼"), lamp).is_same
    assert not compare(Matter(same_matter, "历下区经十路90号3号楼"), lamp).is_same
    # the same road and number with no building named is still the same place
    assert compare(Matter(same_matter, "历下区经十路88号"), lamp).is_same
    leak = Matter("卫生间漏水到楼下", "经十路88号3号楼2单元501室")
    assert compare(Matter("卫生间漏水，楼下遭殃", "经十路88号3号楼2单元501室"), leak).is_same
    assert not compare(Matter("卫生间漏水，楼下遭殃", "经十路88号3号楼2单元502室"), leak).is_same
    assert not compare(Matter("卫生间漏水，楼下遭殃", "经十路88号3号楼1单元501室"), leak).is_same
