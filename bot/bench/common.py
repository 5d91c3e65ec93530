"""What the benchmarks share: free ports for the processes they start, scratch PostgreSQL
databases, and percentiles."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.settings import Settings

LOWEST_PORT = 10_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A port that is free now, below the kernel's ephemeral range. A port the kernel hands
    out for binding to port 0 is also one it hands out as the local port of outgoing
    connections, and Rasa binds its port only after loading its model (a minute or more):
    the fault drills saw a replica fail to start because a connection had taken its port."""
    try:
        ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = LOWEST_PORT
    for _ in range(500):
        port = random.randrange(LOWEST_PORT, max(ephemeral_low, LOWEST_PORT + 1))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # no ephemeral range below which to choose
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_stack_settings(base: Settings, var_dir: Path, **overrides: Any) -> Settings:
    """Settings for a whole stack of our own on free local ports, so a benchmark or an
    evaluation never meets a running ``make run`` or another run's processes."""
    rasa_port, workorder_port = free_port(), free_port()
    ports: dict[str, Any] = {
        "var_dir": var_dir,
        "gateway_port": free_port(),
        "rasa_port": rasa_port,
        "rasa_url": f"http://127.0.0.1:{rasa_port}",
        "action_port": free_port(),
        "workorder_port": workorder_port,
        "workorder_url": f"http://127.0.0.1:{workorder_port}",
    }
    return base.with_overrides(**{**ports, **overrides})


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0…1), so small samples report a value that
    was actually measured; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def create_database(server_url: str, name: str) -> str:
    """Creates database ``name`` on the server of ``server_url``; the URL of the new one."""
    _administer(server_url, f'CREATE DATABASE "{name}"')
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


def drop_database(server_url: str, name: str) -> None:
    _administer(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _administer(server_url: str, statement: str) -> None:
    import psycopg2

    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(statement)
    finally:
        admin.close()
