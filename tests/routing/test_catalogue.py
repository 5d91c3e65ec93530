"""The 派单目录 is complete enough to route a prefecture-level city's requests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.routing import Catalogue, CatalogueError, load_catalogue

REQUIRED_UNITS = (
    "市场监管局",
    "住建局",
    "城管局",
    "生态环境局",
    "交通运输局",
    "交警支队",
    "公安局",
    "人社局",
    "卫健委",
    "教育局",
    "民政局",
    "自然资源和规划局",
    "水务局",
    "医保局",
    "公积金中心",
    "供电公司",
    "水务集团",
    "燃气公司",
    "热力集团",
    "文旅局",
    "应急管理局",
    "商务局",
    "农业农村局",
    "税务局",
    "退役军人事务局",
    "残联",
    "大数据局",
    "司法局",
    "园林局",
    "消防救援支队",
    "通信管理",
    "邮政管理局",
    "住房保障中心",
    "财政局",
    "发改委",
    "区县政府（属地）",
)


def test_catalogue_has_every_required_unit(catalogue: Catalogue) -> None:
    short_names = {department.short_name for department in catalogue.departments}
    assert len(catalogue.departments) >= 32
    assert set(REQUIRED_UNITS) <= short_names


def test_every_department_is_described_completely(catalogue: Catalogue) -> None:
    for department in catalogue.departments:
        sentences = [part for part in department.duties.split("。") if part.strip()]
        assert 2 <= len(sentences) <= 4, department.id
        assert len(department.matters) >= 10, department.id
        assert len(department.keywords) >= 8, department.id
        assert department.name and department.short_name and department.domain
        assert len({matter.name for matter in department.matters}) == len(department.matters)


def test_ids_are_unique_and_stable_words(catalogue: Catalogue) -> None:
    ids = [department.id for department in catalogue.departments]
    assert len(ids) == len(set(ids))
    assert all(identifier.replace("_", "").isascii() for identifier in ids)


def test_territorial_matters_are_marked(catalogue: Catalogue) -> None:
    urban = catalogue.department("urban_management")
    territorial = {matter.name for matter in urban.matters if matter.territorial}
    assert any("占道经营" in name for name in territorial)
    assert any("违法建设" in name for name in territorial)
    assert catalogue.department("district_government").territorial


def test_districts_cover_jinan(catalogue: Catalogue) -> None:
    codes = {district.adcode for district in catalogue.districts if district.kind in {"区", "县"}}
    assert codes == {
        "370102", "370103", "370104", "370105", "370112", "370113",
        "370114", "370115", "370116", "370117", "370124", "370126",
    }  # fmt: skip
    names = {district.name for district in catalogue.districts}
    assert {"济南高新区", "济南新旧动能转换起步区"} <= names
    assert all(district.government for district in catalogue.districts)


def test_label_mapping_points_at_catalogue_units(catalogue: Catalogue, mapping_path: Path) -> None:
    mapping = yaml.safe_load(mapping_path.read_text(encoding="utf-8"))
    ids = {department.id for department in catalogue.departments}
    for label, target in mapping["departments"].items():
        targets = [] if target is None else [target] if isinstance(target, str) else target
        assert set(targets) <= ids, label
    domains = {department.domain for department in catalogue.departments}
    assert set(mapping["domains"].values()) <= domains


def test_a_broken_catalogue_fails_loudly(tmp_path: Path, catalogue_path: Path) -> None:
    raw = yaml.safe_load(catalogue_path.read_text(encoding="utf-8"))
    raw["departments"].append(dict(raw["departments"][0]))
    duplicate = tmp_path / "duplicate.yml"
    duplicate.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match="duplicate department ids"):
        load_catalogue(duplicate)

    raw = yaml.safe_load(catalogue_path.read_text(encoding="utf-8"))
    del raw["departments"][0]["duties"]
    missing = tmp_path / "missing.yml"
    missing.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match="duties"):
        load_catalogue(missing)

    with pytest.raises(CatalogueError, match="not found"):
        load_catalogue(tmp_path / "absent.yml")
