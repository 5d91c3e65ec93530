"""One classifier per test session: building the jieba dictionary and the index takes seconds.

The routing tests never learn from history outside the repository: whatever this machine
has in ../shared, ``classify()`` here uses the model of the catalogue and our own examples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.routing import Catalogue, RequestClassifier, load_catalogue, load_classifier
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="session", autouse=True)
def _no_outside_history() -> Iterator[None]:
    before = os.environ.get("HOTLINE_HISTORY")
    os.environ["HOTLINE_HISTORY"] = "none"
    load_classifier.cache_clear()
    yield
    load_classifier.cache_clear()
    if before is None:
        os.environ.pop("HOTLINE_HISTORY", None)
    else:
        os.environ["HOTLINE_HISTORY"] = before


CATALOGUE_PATH = PROJECT_ROOT / "data" / "routing" / "catalogue.yml"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(CATALOGUE_PATH)


@pytest.fixture(scope="session")
def classifier(catalogue: Catalogue) -> RequestClassifier:
    return RequestClassifier(catalogue)


@pytest.fixture(scope="session")
def catalogue_path() -> Path:
    return CATALOGUE_PATH


@pytest.fixture(scope="session")
def mapping_path() -> Path:
    return PROJECT_ROOT / "data" / "routing" / "label_mapping.yml"
