"""Request classification and department routing over the 派单目录 (data/routing/catalogue.yml).

``classify(text)`` answers with the request type, the handling unit (a department, or the
district government for 属地 matters), the place, the top-3 alternatives with confidences and
a reason in Chinese. Emergencies and out-of-scope matters come back unrouted with their
proper route. The classifier loads in a few seconds (jieba and the catalogue index), so one
instance per process is shared.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from bot.routing.catalogue import Catalogue, CatalogueError, Department, District, load_catalogue
from bot.routing.classifier import (
    Classification,
    DepartmentCandidate,
    HandlingUnit,
    RequestClassifier,
)
from bot.routing.place import Place
from bot.routing.request_type import REQUEST_TYPES
from bot.settings import Settings

__all__ = [
    "REQUEST_TYPES",
    "Catalogue",
    "CatalogueError",
    "Classification",
    "Department",
    "DepartmentCandidate",
    "District",
    "HandlingUnit",
    "Place",
    "RequestClassifier",
    "classify",
    "load_catalogue",
    "load_classifier",
]


@lru_cache(maxsize=4)
def _classifier_for(catalogue_path: Path) -> RequestClassifier:
    return RequestClassifier(load_catalogue(catalogue_path))


def load_classifier(settings: Settings | None = None) -> RequestClassifier:
    """The process-wide classifier for the configured catalogue (``ROUTING_CATALOGUE``)."""
    settings = settings or Settings.from_env()
    return _classifier_for(settings.routing_catalogue.resolve())


def classify(text: str, settings: Settings | None = None) -> Classification:
    return load_classifier(settings).classify(text)
