"""Request classification and department routing over the 派单目录 (data/routing/catalogue.yml).

``classify(text)`` answers with the request type, the handling unit (a department, or the
district government for 属地 matters), the place, the top-3 alternatives with calibrated
confidences, "unsure" flags, the most similar past cases and the catalogue matter that fits,
and a reason in Chinese for agents. Emergencies and out-of-scope matters come back unrouted
with their proper route. Type and unit come from the live learned model (trained from the
centre's history, ``HOTLINE_HISTORY``) fused with the catalogue; the model is resolved once
per process (a promotion takes effect at the next start), and loading takes seconds, so one
instance per process is shared.

Loading includes the sentence-embedding model, which the learned model first touches when it
classifies: 20 s and more on a busy 2-core machine, longer than a citizen's turn may take. So
``load_classifier`` returns the classifier ready to answer at once, and the processes that
classify load it at start-up (``actions/server.py``, the gateway for agents).
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

from bot.routing.catalogue import Catalogue, CatalogueError, Department, District, load_catalogue
from bot.routing.classifier import (
    Classification,
    DepartmentCandidate,
    HandlingUnit,
    RequestClassifier,
)
from bot.routing.model import RoutingModel, SimilarCase
from bot.routing.place import Place
from bot.routing.request_type import REQUEST_TYPES
from bot.routing.store import ensure_live_model, live_model_info
from bot.settings import Settings

logger = logging.getLogger(__name__)

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
    "RoutingModel",
    "SimilarCase",
    "classify",
    "live_model_info",
    "load_catalogue",
    "load_classifier",
]


@lru_cache(maxsize=4)
def _classifier_for(catalogue_path: Path, model_path: Path) -> RequestClassifier:
    catalogue = load_catalogue(catalogue_path)
    model = RoutingModel.load(model_path, catalogue)
    history = model.info.get("history") or []
    if history:
        logger.info("routing model %s, learned from %s", model.version, ", ".join(history))
    else:
        logger.warning(
            "routing model %s: no labelled history (HOTLINE_HISTORY), learned only from the "
            "catalogue's typical matters and the project's own examples",
            model.version,
        )
    return RequestClassifier(catalogue, model=model)


# One loading at a time: a turn that classifies while the start-up loading runs waits for
# it and then finds everything loaded, instead of loading (or training) a second copy.
_loading = threading.Lock()
# Touches every part that loads on first use (the embedding model, jieba, the places).
_WARM_UP_TEXT = "历下区泉城路123号附近的路灯坏了，晚上一片漆黑"


@lru_cache(maxsize=4)
def load_classifier(settings: Settings | None = None) -> RequestClassifier:
    """The process-wide classifier: the configured catalogue and the live routing model
    (trained first if its inputs changed since the last training, as ``python -m bot
    train`` does), ready to classify without further loading."""
    with _loading:
        settings = settings or Settings.from_env()
        model = ensure_live_model(settings)
        classifier = _classifier_for(settings.routing_catalogue.resolve(), model)
        classifier.classify(_WARM_UP_TEXT)
        return classifier


def classify(text: str, settings: Settings | None = None) -> Classification:
    return load_classifier(settings).classify(text)
