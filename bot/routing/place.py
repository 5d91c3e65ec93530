"""Where a request is about: the district (区县) and street (街道/镇) named in the message.

Province, city and district come from cpca-new, a maintained fork of the cpca address
library with administrative divisions up to the end of 2025 (the original cpca stopped in
2021 and still knows 章丘市 and 济阳县, not 章丘区 and 济阳区). The hotline is Jinan's, so a
district name that several cities share (市中区) is read as Jinan's. The catalogue adds what
no national library has: functional areas run by a 管委会 (高新区, 起步区) and street names
that identify a district when the citizen names only the street.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from bot.routing.catalogue import Catalogue, District


@dataclass(frozen=True)
class Place:
    """The place a message names; ``district`` is set only for places in the hotline's city."""

    province: str | None
    city: str | None
    district: District | None
    street: str | None
    in_city: bool

    def describe(self) -> str:
        """The place in words, e.g. 济南市历城区王舍人街道."""
        district = self.district.name if self.district else ""
        city = self.city or ""
        if city and district.startswith(city.removesuffix("市")):
            city = ""
        return f"{city}{district}{self.street or ''}"


_STREET_SUFFIX = re.compile(r"(街道|镇)$")


class PlaceFinder:
    def __init__(self, catalogue: Catalogue) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import cpca_new

        self._cpca: Any = cpca_new
        self._catalogue = catalogue
        self._city_prefix = catalogue.city_adcode[:4]
        # Names several cities share resolve to this city's district when no city is named.
        self._umap = {
            district.name: district.adcode
            for district in catalogue.districts
            if district.adcode and district.kind in {"区", "县"}
        }
        names: list[tuple[str, District, str | None]] = []
        for district in catalogue.districts:
            for alias in (district.name, *district.aliases):
                names.append((alias, district, None))
            for street in district.streets:
                names.append((street, district, street))
                # "王舍人" and "泉城路" name their street on their own; two-character stems
                # (北村, 平安, 黄河) are too common in other words to trust.
                short = _STREET_SUFFIX.sub("", street)
                if len(short) >= 3 and short != street:
                    names.append((short, district, street))
        # Longest names first, so 济南高新区 wins over 高新区 and 泉城路街道 over 泉城路.
        self._names = sorted(names, key=lambda item: len(item[0]), reverse=True)
        # cpca builds its matcher on first use (about half a second): pay that at start-up,
        # not on the first citizen's message.
        self._administrative(catalogue.city)

    def find(self, text: str) -> Place:
        compact = "".join(text.split())
        province, city, adcode, named = self._administrative(compact)
        if adcode and not adcode.startswith(self._city_prefix):
            # Only a city or province written out places a request elsewhere: a bare
            # district name is often a common word elsewhere (老城区, 郊区, 矿区, 东区).
            if named:
                return Place(province, city, district=None, street=None, in_city=False)
            province = city = adcode = None
        district = self._catalogue.district_by_adcode(adcode[:6]) if adcode else None
        street: str | None = None
        for name, owner, street_name in self._names:
            if name not in compact:
                continue
            # A functional area or a street named in the text is more precise than the
            # district cpca found (高新区 lies inside 历下区 and 历城区).
            if street_name is None:
                if owner.kind == "功能区" or district is None:
                    district = owner
            elif street is None:
                street = street_name
                if district is None or owner.kind == "功能区":
                    district = owner
        in_city = district is not None or city == self._catalogue.city
        return Place(
            province=province,
            city=self._catalogue.city if in_city else city,
            district=district,
            street=street,
            in_city=in_city,
        )

    def _administrative(self, text: str) -> tuple[str | None, str | None, str | None, bool]:
        """Province, city and adcode from cpca, and whether the city or province is written."""
        frame = self._cpca.transform([text], umap=self._umap, pos_sensitive=True)
        row = frame.iloc[0]
        named = _position(row.get("省_pos")) >= 0 or _position(row.get("市_pos")) >= 0
        return _value(row.get("省")), _value(row.get("市")), _value(row.get("adcode")), named


def _position(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _value(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None
