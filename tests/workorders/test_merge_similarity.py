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
