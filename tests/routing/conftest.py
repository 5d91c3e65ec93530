"""One classifier per test session: building the jieba dictionary and the index takes seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.routing import Catalogue, RequestClassifier, load_catalogue
from bot.settings import PROJECT_ROOT

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
