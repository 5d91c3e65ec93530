"""Real processes: the Rasa server (cached model), the action server and the gateway.

Two stacks are launched once per session and load in parallel: one on the embedded
defaults (SQLite, in-memory locks) and one scaled out on the real PostgreSQL and Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.bench.common import local_stack_settings
from bot.launcher import Stack
from bot.settings import Settings


def stack_settings(var_dir: Path, **overrides: object) -> Settings:
    defaults: dict[str, object] = {
        "rasa_token": uuid.uuid4().hex,
        "database_url": None,
        "redis_url": None,
        "rabbitmq_url": None,
        "kb_preload": True,
        "rate_limit_address_messages": 1_000_000,  # every simulated citizen is on 127.0.0.1
    }
    return local_stack_settings(Settings.from_env(), var_dir, **{**defaults, **overrides})


@pytest.fixture(scope="session")
def stacks(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[dict[str, Stack]]:
    launched = {
        "default": Stack(stack_settings(tmp_path_factory.mktemp("default-stack"))),
        "scaled": Stack(
            stack_settings(
                tmp_path_factory.mktemp("scaled-stack"),
                database_url=postgres_url,
                redis_url=redis_url,
            )
        ),
    }
    try:
        for stack in launched.values():
            stack.launch()
        for stack in launched.values():
            stack.wait_ready(timeout_s=420, progress=lambda _: None)
        yield launched
    finally:
        for stack in launched.values():
            stack.stop()


@pytest.fixture(scope="session")
def default_stack(stacks: dict[str, Stack]) -> Stack:
    return stacks["default"]


@pytest.fixture(scope="session")
def scaled_stack(stacks: dict[str, Stack]) -> Stack:
    return stacks["scaled"]
