"""The 派单目录 (dispatch catalogue): departments, their duties and typical matters, and districts.

The catalogue is data (data/routing/catalogue.yml) so that operators can follow each year's
"三定" changes and new matters without touching code (国办函〔2025〕66号 asks for a catalogue
that is "updated continuously"). Loading validates the structure and fails loudly, because a
silently half-read catalogue would misroute work orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class CatalogueError(ValueError):
    """The catalogue file is missing a field or contradicts itself."""


@dataclass(frozen=True)
class Matter:
    """A typical matter (典型事项); ``variants`` are its "、"-separated phrasings."""

    name: str
    variants: tuple[str, ...]
    territorial: bool


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    short_name: str
    aliases: tuple[str, ...]
    domain: str
    duties: str
    keywords: tuple[str, ...]
    matters: tuple[Matter, ...]
    territorial: bool


@dataclass(frozen=True)
class District:
    """A district or county, or a functional area whose 管委会 takes territorial orders."""

    name: str
    adcode: str | None
    kind: str
    government: str
    aliases: tuple[str, ...]
    streets: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    city: str
    city_adcode: str
    hotline: str
    departments: tuple[Department, ...]
    districts: tuple[District, ...]

    def department(self, department_id: str) -> Department:
        for department in self.departments:
            if department.id == department_id:
                return department
        raise KeyError(department_id)

    def district_by_adcode(self, adcode: str) -> District | None:
        for district in self.districts:
            if district.adcode == adcode:
                return district
        return None


def load_catalogue(path: Path) -> Catalogue:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"routing catalogue not found: {path}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: the catalogue must be a mapping")
    departments = tuple(_department(item, path) for item in _list(raw, "departments", path))
    districts = tuple(_district(item, path) for item in _list(raw, "districts", path))
    ids = [department.id for department in departments]
    duplicates = sorted({item for item in ids if ids.count(item) > 1})
    if duplicates:
        raise CatalogueError(f"{path}: duplicate department ids {duplicates}")
    if not departments:
        raise CatalogueError(f"{path}: no departments")
    return Catalogue(
        city=_text(raw, "city", path),
        city_adcode=str(_text(raw, "city_adcode", path)),
        hotline=_text(raw, "hotline", path),
        departments=departments,
        districts=districts,
    )


def _department(item: Any, path: Path) -> Department:
    if not isinstance(item, dict):
        raise CatalogueError(f"{path}: a department must be a mapping, got {item!r}")
    where = f"{path} department {item.get('id', '?')}"
    matters = tuple(_matter(entry, where) for entry in _list(item, "matters", where))
    return Department(
        id=_text(item, "id", where),
        name=_text(item, "name", where),
        short_name=_text(item, "short_name", where),
        aliases=_strings(item.get("aliases", []), where),
        domain=_text(item, "domain", where),
        duties=" ".join(_text(item, "duties", where).split()),
        keywords=_strings(item.get("keywords", []), where),
        matters=matters,
        territorial=bool(item.get("territorial", False)),
    )


def _matter(entry: Any, where: str) -> Matter:
    if isinstance(entry, str):
        name, territorial = entry, False
    elif isinstance(entry, dict):
        name, territorial = _text(entry, "name", where), bool(entry.get("territorial", False))
    else:
        raise CatalogueError(f"{where}: a matter must be text or a mapping, got {entry!r}")
    variants = tuple(part.strip() for part in name.split("、") if part.strip())
    return Matter(name=name.strip(), variants=variants, territorial=territorial)


def _district(item: Any, path: Path) -> District:
    if not isinstance(item, dict):
        raise CatalogueError(f"{path}: a district must be a mapping, got {item!r}")
    where = f"{path} district {item.get('name', '?')}"
    adcode = item.get("adcode")
    return District(
        name=_text(item, "name", where),
        adcode=str(adcode) if adcode is not None else None,
        kind=_text(item, "kind", where),
        government=_text(item, "government", where),
        aliases=_strings(item.get("aliases", []), where),
        streets=_strings(item.get("streets", []), where),
    )


def _list(mapping: dict[str, Any], key: str, where: object) -> list[Any]:
    value = mapping.get(key)
    if not isinstance(value, list):
        raise CatalogueError(f"{where}: '{key}' must be a list")
    return value


def _text(mapping: dict[str, Any], key: str, where: object) -> str:
    value = mapping.get(key)
    if not isinstance(value, str | int) or not str(value).strip():
        raise CatalogueError(f"{where}: '{key}' is missing or empty")
    return str(value).strip()


def _strings(value: Any, where: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CatalogueError(f"{where}: expected a list of text, got {value!r}")
    return tuple(item.strip() for item in value if item.strip())
