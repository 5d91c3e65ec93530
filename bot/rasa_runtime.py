"""Everything about driving the Rasa runtime (its own Python 3.10 venv) from ours.

Rasa 3.6 cannot share a venv with the project's code (see the architecture notes), so it
is started as a process. Training is expensive (minutes), so a model is cached by the
hash of everything that shapes it — the project's training data and the centre's history
(``HOTLINE_HISTORY``, bot/nlu_history.py) — and trained again only when that hash changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from bot.nlu_history import history_digest, write_history_nlu
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

RASA_VENV = PROJECT_ROOT / ".venv-rasa"
RASA_BIN = RASA_VENV / "bin" / "rasa"
RASA_DATA = ("data/nlu", "data/core")
MODEL_INPUTS = ("config.yml", "domain.yml", *RASA_DATA, "data/dict", "requirements/rasa.txt")


def training_data_hash(root: Path = PROJECT_ROOT) -> str:
    """A digest of every file that shapes the trained model, in a stable order."""
    digest = hashlib.sha256()
    for relative in MODEL_INPUTS:
        path = root / relative
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(b"\0")
            digest.update(file.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def cached_model_path(
    settings: Settings, root: Path = PROJECT_ROOT, history: Sequence[Path] = ()
) -> Path:
    """Models without history keep the name they always had; history adds its digest."""
    key = training_data_hash(root)
    if history:
        key += f"-h{history_digest(history)}"
    return settings.model_cache_dir / f"hotline-{key}.tar.gz"


def rasa_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(PROJECT_ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_TOKEN": settings.rasa_token,
            "ACTION_ENDPOINT_URL": settings.action_url,
            "TF_INTER_OP_PARALLELISM_THREADS": str(settings.rasa_threads),
            "TF_INTRA_OP_PARALLELISM_THREADS": str(settings.rasa_threads),
        }
    )
    return env


def ensure_model(
    settings: Settings, root: Path = PROJECT_ROOT, history: Sequence[Path] | None = None
) -> Path:
    """The trained model for the current data and history, training it first if it is not
    cached. ``history`` defaults to the configured one (``HOTLINE_HISTORY``).

    A file lock makes concurrent callers (two test sessions, ``make run`` beside ``make
    test``) wait for one training instead of each starting their own.
    """
    history = settings.history_files if history is None else tuple(history)
    target = cached_model_path(settings, root, history)
    if target.exists():  # no wait behind another model's training
        return target
    settings.model_cache_dir.mkdir(parents=True, exist_ok=True)
    lock_path = settings.model_cache_dir / ".train.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        logger.info("training data changed: training a new Rasa model %s", target.name)
        with tempfile.TemporaryDirectory(prefix="rasa-train-") as out:
            data = [str(root / d) for d in RASA_DATA]
            if history:
                generated = Path(out) / "history" / "history_nlu.yml"
                counts = write_history_nlu(history, generated)
                logger.info("NLU examples from the history: %s", counts)
                data.append(str(generated))
            command = [
                str(RASA_BIN),
                "train",
                "--config",
                str(root / "config.yml"),
                "--domain",
                str(root / "domain.yml"),
                "--data",
                *data,
                "--out",
                out,
                "--fixed-model-name",
                target.name.removesuffix(".tar.gz"),
            ]
            subprocess.run(command, cwd=root, env=rasa_environment(settings), check=True)
            produced = next(Path(out).glob("*.tar.gz"))
            shutil.move(str(produced), target)
    return target


def endpoints_config(settings: Settings) -> dict[str, Any]:
    """The effective endpoints.yml: embedded defaults, or PostgreSQL, Redis and RabbitMQ
    when set."""
    config: dict[str, Any] = {"action_endpoint": {"url": settings.action_url}}
    database = settings.rasa_tracker_db
    if database is None:
        config["tracker_store"] = {
            "type": "SQL",
            "dialect": "sqlite",
            "db": str(settings.var_dir / "rasa_tracker.db"),
        }
    else:
        # Rasa's own SQL store loses a turn's context and events after a PostgreSQL
        # restart (connectors/rasa_tracker_store.py says how); this one rides it out.
        store: dict[str, Any] = {
            "type": "connectors.rasa_tracker_store.DurableSQLTrackerStore",
            "dialect": "postgresql",
            "url": database.host,
            "port": database.port,
            "db": database.database,
        }
        if database.username:
            store["username"] = database.username
        if database.password:
            store["password"] = database.password
        config["tracker_store"] = store
    if settings.redis_url:
        parts = urlsplit(settings.redis_url)
        # Rasa's own RedisLockStore is a read-modify-write of the ticket lock; replicas
        # need the atomic one (connectors/rasa_lock_store.py).
        lock: dict[str, Any] = {
            "type": "connectors.rasa_lock_store.AtomicRedisLockStore",
            "url": parts.hostname or "127.0.0.1",
            "port": parts.port or 6379,
            "db": int((parts.path or "/0").lstrip("/") or 0),
            "key_prefix": "hotline",
            "lock_lifetime": settings.rasa_lock_lifetime_s,
            "poll_interval": settings.rasa_lock_poll_s,
        }
        if parts.password:
            lock["password"] = unquote(parts.password)
        config["lock_store"] = lock
    else:
        config["lock_store"] = {"type": "in_memory"}
    if settings.rabbitmq_url:
        config["event_broker"] = event_broker_config(settings.rabbitmq_url, settings.rabbitmq_queue)
    return config


def event_broker_config(url: str, queue: str) -> dict[str, Any]:
    """Rasa's pika event broker, publishing every tracker event to the durable ``queue``
    (bot/console/events.py reads it). Rasa takes the whole URL, so a vhost in its path is
    kept, and wants the credentials as written in it: it adds them only when missing."""
    parts = urlsplit(url)
    username, _, password = parts.netloc.rpartition("@")[0].partition(":")
    return {
        "type": "pika",
        "url": url,
        "port": parts.port or 5672,
        "username": username or "guest",
        "password": password or "guest",
        "queues": [queue],
    }


def write_endpoints(settings: Settings) -> Path:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    path = settings.var_dir / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints_config(settings), allow_unicode=True))
    return path


def rasa_server_command(settings: Settings, model: Path, endpoints: Path) -> list[str]:
    return [
        str(RASA_BIN),
        "run",
        "--enable-api",
        # One argument, so a generated token that starts with "-" is not read as an option.
        f"--auth-token={settings.rasa_token}",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(PROJECT_ROOT / "credentials.yml"),
        "--interface",
        settings.internal_host,
        "--port",
        str(settings.rasa_port),
        "--response-timeout",
        str(int(settings.rasa_timeout_s)),
    ]
