"""How the settings turn into Rasa's endpoints and the model cache key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.rasa_runtime import (
    MODEL_INPUTS,
    endpoints_config,
    rasa_server_command,
    training_data_hash,
)
from bot.settings import PROJECT_ROOT, DatabaseUrl, Settings


def test_embedded_defaults_use_sqlite_and_in_memory_locks(settings: Settings) -> None:
    config = endpoints_config(settings)
    assert config["tracker_store"] == {
        "type": "SQL",
        "dialect": "sqlite",
        "db": str(settings.var_dir / "rasa_tracker.db"),
    }
    assert config["lock_store"] == {"type": "in_memory"}
    assert config["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"


def test_database_and_redis_urls_switch_to_real_engines(settings: Settings) -> None:
    scaled = settings.with_overrides(
        database_url="postgresql://hotline:s%40cret@db.internal:6543/rasa",
        redis_url="redis://:pw@cache.internal:6380/2",
    )
    config = endpoints_config(scaled)
    assert config["tracker_store"] == {
        "type": "connectors.rasa_tracker_store.DurableSQLTrackerStore",
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 6543,
        "db": "rasa",
        "username": "hotline",
        "password": "s@cret",
    }
    assert config["lock_store"]["type"] == "connectors.rasa_lock_store.AtomicRedisLockStore"
    assert config["lock_store"]["url"] == "cache.internal"
    assert config["lock_store"]["port"] == 6380
    assert config["lock_store"]["db"] == 2
    assert config["lock_store"]["password"] == "pw"
    assert scaled.sqlalchemy_url.startswith("postgresql+asyncpg://hotline:s%40cret@db.internal")


def test_database_url_must_be_postgresql() -> None:
    try:
        DatabaseUrl.parse("mysql://x@y/z")
    except ValueError as exc:
        assert "postgresql" in str(exc)
    else:
        raise AssertionError("a non-PostgreSQL URL was accepted")


def test_model_hash_changes_only_with_training_inputs(tmp_path: Path) -> None:
    root = tmp_path / "project"
    for relative in MODEL_INPUTS:
        source = PROJECT_ROOT / relative
        target = root / relative
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    (root / "README.md").write_text("docs do not shape the model")
    before = training_data_hash(root)
    (root / "README.md").write_text("changed docs")
    assert training_data_hash(root) == before
    with (root / "domain.yml").open("a") as domain:
        domain.write("\n# a change to the domain\n")
    assert training_data_hash(root) != before


def test_settings_survive_the_trip_to_a_child_process(settings: Settings, monkeypatch) -> None:
    configured = settings.with_overrides(
        gateway_port=9123,
        database_url="postgresql://postgres@127.0.0.1:5432/test",
        redis_url="redis://127.0.0.1:6379/3",
        rate_limit_messages=7,
    )
    for name, value in configured.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == configured


def test_a_generated_token_starting_with_a_dash_reaches_rasa(settings: Settings) -> None:
    """secrets.token_urlsafe can start with "-"; as a separate argument rasa's argparse
    took it for an option and `make run` failed about one start in 64."""
    import argparse

    token = "-Zx9_secret"
    command = rasa_server_command(
        settings.with_overrides(rasa_token=token), Path("model.tar.gz"), Path("endpoints.yml")
    )
    parser = argparse.ArgumentParser()
    parser.add_argument("-t", "--auth-token")
    parsed, _ = parser.parse_known_args(command[2:])
    assert parsed.auth_token == token


@pytest.mark.parametrize(
    ("internal_host", "reached_at"),
    [(None, "127.0.0.1"), ("10.0.0.21", "10.0.0.21"), ("0.0.0.0", "127.0.0.1")],
    ids=["default", "private", "everywhere"],
)
def test_rasa_and_the_action_server_listen_on_the_loopback_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, internal_host: str | None, reached_at: str
) -> None:
    """The action server has no token: by default neither it nor Rasa is reachable from
    another machine. On a machine of their own they listen on its private address, and the
    processes there reach them at that address (0.0.0.0 means: reach them on the loopback)."""
    for name in ("INTERNAL_HOST", "RASA_URL", "RASA_PORT", "ACTION_PORT"):
        monkeypatch.delenv(name, raising=False)
    if internal_host is not None:
        monkeypatch.setenv("INTERNAL_HOST", internal_host)

    settings = Settings.from_env()

    command = rasa_server_command(settings, Path("model.tar.gz"), Path("endpoints.yml"))
    assert command[command.index("--interface") + 1] == (internal_host or "127.0.0.1")
    assert settings.internal_host == (internal_host or "127.0.0.1")
    assert (settings.rasa_url, settings.action_url) == (
        f"http://{reached_at}:5005",
        f"http://{reached_at}:5055/webhook",
    )
