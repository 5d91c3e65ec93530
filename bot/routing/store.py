"""Where routing models live: cached by the hash of code and data, and one of them live.

Like the Rasa model (bot/rasa_runtime.py), the model trained from the configured history
(``HOTLINE_HISTORY``) is cached under the model cache by a digest of everything that shapes
it, so ``make run`` and ``make test`` train again only when code, catalogue, mapping, our own
examples or a history file changed.

The *live* model is the one the assistant classifies with (``live-<configuration>.json`` names
it, one per set of history paths and catalogue). A newly
trained model replaces it only when its scores on the live model's fixed evaluation file do
not fall: field corrections must not make routing worse without anyone noticing. When no
evaluation file has been fixed yet, a model trained from the configured history simply
follows that history.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.routing.catalogue import Catalogue, load_catalogue
from bot.routing.embedder import embedder_for
from bot.routing.evaluation import LabelMapping, evaluate_departments, evaluate_types, read_jsonl
from bot.routing.history import (
    LABEL_MAPPING,
    OWN_EXAMPLES,
    LabelReport,
    Labels,
    TrainingRow,
    catalogue_rows,
    history_rows,
    own_example_rows,
)
from bot.routing.model import RoutingModel
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

# The code that shapes a trained model: a change in any of these retrains.
MODEL_CODE = tuple(
    PROJECT_ROOT / "bot" / "routing" / name
    for name in (
        "history.py",
        "learners.py",
        "model.py",
        "embedder.py",
        "text.py",
        "departments.py",
    )
)


def routing_dir(settings: Settings) -> Path:
    return settings.model_cache_dir / "routing"


def live_pointer(settings: Settings) -> Path:
    """The live model of this configuration (history paths and catalogue): a test run or an
    evaluation with other history shares the cache folder but never the live model."""
    names = sorted(str(path.resolve()) for path in settings.history_files)
    key = "\0".join([str(settings.routing_catalogue.resolve()), *names])
    return routing_dir(settings) / f"live-{hashlib.sha256(key.encode()).hexdigest()[:12]}.json"


def inputs_hash(settings: Settings, extra: Sequence[Path] = ()) -> str:
    """A digest of the code, catalogue, mapping, own examples and history files."""
    digest = hashlib.sha256(settings.embedding_model.encode())
    files = [
        *MODEL_CODE,
        settings.routing_catalogue,
        LABEL_MAPPING,
        OWN_EXAMPLES,
        *settings.history_files,
        *extra,
    ]
    for path in files:
        digest.update(str(path.name).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def training_rows(
    settings: Settings,
    catalogue: Catalogue,
    files: Sequence[Path] = (),
    report: LabelReport | None = None,
) -> list[TrainingRow]:
    """The catalogue's matters, our own examples and the labelled files, mapped to our labels."""
    labels = Labels(LabelMapping.load(LABEL_MAPPING), catalogue)
    rows = catalogue_rows(catalogue) + own_example_rows(labels)
    if report is not None:
        report.used["catalogue"] += sum(r.source == "catalogue" for r in rows)
        report.used["examples"] += sum(r.source == "examples" for r in rows)
    return rows + history_rows(files, labels, report)


def train(
    settings: Settings, files: Sequence[Path], report: LabelReport | None = None
) -> RoutingModel:
    catalogue = load_catalogue(settings.routing_catalogue)
    rows = training_rows(settings, catalogue, files, report)
    embedder = embedder_for(settings)
    if embedder is None:
        logger.warning(
            "routing: embedding model %s not found, n-grams only", settings.embedding_model
        )
    return RoutingModel.train(rows, catalogue, embedder)


@contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    folder = routing_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_history_model(settings: Settings) -> Path:
    """The model of the configured history, trained first when its inputs changed."""
    version = inputs_hash(settings)
    path = routing_dir(settings) / f"history-{version}.pkl"
    with _locked(settings):
        if path.exists():
            return path
        files = settings.history_files
        if files:
            logger.info("routing: training on history %s", ", ".join(str(f) for f in files))
        else:
            logger.info("routing: no history configured, training on the catalogue and examples")
        report = LabelReport()
        model = train(settings, files, report)
        model.info.update(version=version, kind="history", labels=report.summary())
        model.save(path)
        _drop_stale(settings, keep=path)
    return path


def _drop_stale(settings: Settings, keep: Path, newest: int = 3) -> None:
    """Removes old history models (tens of MB each), but never a live one nor the newest few:
    processes with other settings (tests, an evaluation run) share this folder."""
    referenced = {keep}
    for pointer in routing_dir(settings).glob("live-*.json"):
        try:
            referenced.add(Path(json.loads(pointer.read_text(encoding="utf-8"))["path"]))
        except (OSError, ValueError, KeyError):
            continue
    models = sorted(
        routing_dir(settings).glob("history-*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in models[newest:]:
        if old not in referenced:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)


@dataclass(frozen=True)
class LiveModel:
    path: Path
    version: str
    kind: str  # history | promoted
    eval_file: Path | None
    scores: dict[str, float]
    rejected: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "version": self.version,
            "kind": self.kind,
            "eval_file": str(self.eval_file) if self.eval_file else None,
            "scores": self.scores,
            "rejected": list(self.rejected),
        }


def read_live(settings: Settings) -> LiveModel | None:
    pointer = live_pointer(settings)
    try:
        data = json.loads(pointer.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    path = Path(data["path"])
    if not path.exists():
        return None
    return LiveModel(
        path=path,
        version=str(data["version"]),
        kind=str(data.get("kind", "history")),
        eval_file=Path(data["eval_file"]) if data.get("eval_file") else None,
        scores={str(k): float(v) for k, v in (data.get("scores") or {}).items()},
        rejected=tuple(data.get("rejected") or ()),
    )


def _write_live(settings: Settings, live: LiveModel) -> None:
    pointer = live_pointer(settings)
    staging = pointer.with_suffix(".tmp")
    staging.write_text(json.dumps(live.to_json(), ensure_ascii=False, indent=2), "utf-8")
    staging.replace(pointer)


def score(model: RoutingModel, eval_file: Path, settings: Settings) -> dict[str, float]:
    """The figures a promotion compares: type macro-F1, department top-1 and top-3."""
    from bot.routing.classifier import RequestClassifier

    catalogue = load_catalogue(settings.routing_catalogue)
    classifier = RequestClassifier(catalogue, model=model)
    mapping = LabelMapping.load(LABEL_MAPPING)
    rows = list(read_jsonl(eval_file))
    scores: dict[str, float] = {}
    if any(isinstance(r.get("request_type"), str) for r in rows):
        typed = [r for r in rows if r.get("request_type")]
        scores["type_macro_f1"] = evaluate_types(classifier, typed, mapping)["macro_f1"]
    if any(isinstance(r.get("department"), str) for r in rows):
        figures = evaluate_departments(classifier, rows, mapping)
        if figures["rows"]:
            scores["department_top1"] = figures["top1"]
            scores["department_top3"] = figures["top3"]
    return scores


@dataclass(frozen=True)
class Decision:
    promoted: bool
    old: dict[str, float]
    new: dict[str, float]
    reason: str


def not_worse(old: dict[str, float], new: dict[str, float]) -> bool:
    return all(new.get(key, 0.0) >= value for key, value in old.items())


def promote(
    settings: Settings, candidate: Path, eval_file: Path | None = None, kind: str = "promoted"
) -> Decision:
    """Makes ``candidate`` live unless it scores lower than the live model on the fixed file.

    ``eval_file`` fixes the evaluation file when none is fixed yet; once fixed, the same file
    judges every later candidate, so scores stay comparable over time.
    """
    catalogue = load_catalogue(settings.routing_catalogue)
    model = RoutingModel.load(candidate, catalogue)
    with _locked(settings):
        live = read_live(settings)
        fixed = live.eval_file if live and live.eval_file else eval_file
        if fixed is not None and not fixed.is_file():
            raise FileNotFoundError(f"evaluation file not found: {fixed}")
        new = score(model, fixed, settings) if fixed else {}
        old: dict[str, float] = {}
        if live is not None and fixed is not None:
            old = score(RoutingModel.load(live.path, catalogue), fixed, settings)
        if live is not None and live.version == model.version:
            return Decision(False, old, new, "该模型已是当前线上模型。")
        if live is not None and not not_worse(old, new):
            rejected = (*live.rejected, model.version)[-20:]
            _write_live(settings, _replace_rejected(live, rejected))
            return Decision(False, old, new, "新模型在固定评测集上的得分下降，保留当前线上模型。")
        target = candidate
        if kind == "promoted":  # keep a copy: the training folder may be cleaned up
            target = routing_dir(settings) / f"promoted-{model.version}.pkl"
            shutil.copyfile(candidate, target)
            shutil.copyfile(candidate.with_suffix(".json"), target.with_suffix(".json"))
        _write_live(
            settings,
            LiveModel(
                path=target,
                version=model.version,
                kind=kind,
                eval_file=fixed.resolve() if fixed else None,
                scores=new,
                rejected=live.rejected if live else (),
            ),
        )
        return Decision(True, old, new, "新模型已上线。")


def _replace_rejected(live: LiveModel, rejected: tuple[str, ...]) -> LiveModel:
    return LiveModel(live.path, live.version, live.kind, live.eval_file, live.scores, rejected)


def ensure_live_model(settings: Settings) -> Path:
    """The model to classify with; the history model becomes live when it passes the gate.

    A model promoted from field corrections stays live when the configured history changes
    but no evaluation file was fixed to compare them; a model already refused is not
    evaluated again at every start.
    """
    history = ensure_history_model(settings)
    version = history.stem.removeprefix("history-")
    live = read_live(settings)
    if live is not None and (version == live.version or version in live.rejected):
        return live.path
    if live is not None and live.kind == "promoted" and live.eval_file is None:
        logger.info("routing: keeping the promoted model %s (no evaluation file)", live.version)
        return live.path
    decision = promote(settings, history, kind="history")
    if not decision.promoted:
        logger.warning("routing: %s %s → %s", decision.reason, decision.old, decision.new)
    current = read_live(settings)
    return current.path if current else history


def live_model_info(settings: Settings | None = None) -> dict[str, Any] | None:
    """Version, training time, sources and scores of the live model, for the console."""
    settings = settings or Settings.from_env()
    live = read_live(settings)
    if live is None:
        return None
    info_path = live.path.with_suffix(".json")
    info: dict[str, Any] = {}
    if info_path.exists():
        info = json.loads(info_path.read_text(encoding="utf-8"))
    return {
        "version": live.version,
        "kind": live.kind,
        "trained_at": info.get("trained_at"),
        "rows": info.get("rows"),
        "rows_by_source": info.get("rows_by_source", {}),
        "history": info.get("history", []),
        "eval_file": str(live.eval_file) if live.eval_file else None,
        "scores": live.scores,
    }
