"""HAProxy for the scaled deployment: its configuration, rendered from the template in
``deploy/haproxy.cfg``, and what its stats socket says about each replica.

The same template serves one machine (``make run-scaled``, every address 127.0.0.1) and
several (``python -m bot lb-config``, one server line per machine), so what is tested is
what a multi-machine deployment runs.
"""

from __future__ import annotations

import csv
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from string import Template

from bot.settings import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "haproxy.cfg"
GATEWAYS, RASA, ACTIONS = "gateways", "rasa", "actions"
"""The backends whose servers are the replicas (``gateways_alive`` repeats ``gateways``)."""


class LoadBalancerMissing(RuntimeError):
    """HAProxy is not installed."""


def haproxy_binary() -> str:
    path = shutil.which("haproxy")
    if path is None:
        raise LoadBalancerMissing(
            "HAProxy is not installed: `make setup` installs Debian's haproxy package when run"
            " as root, otherwise `sudo apt-get install haproxy` (2.6 or newer)."
        )
    return path


@dataclass(frozen=True)
class Replica:
    """One server line: the name the stats socket and the logs use, and its address."""

    name: str
    address: str  # host:port


@dataclass(frozen=True)
class Topology:
    """Where HAProxy listens for each tier and which replicas serve it."""

    public_bind: str
    rasa_bind: str
    action_bind: str
    gateways: tuple[Replica, ...]
    rasa: tuple[Replica, ...]
    actions: tuple[Replica, ...]

    def __post_init__(self) -> None:
        for tier in (self.gateways, self.rasa, self.actions):
            if not tier:
                raise ValueError("every tier needs at least one replica")


def render(topology: Topology, stats_socket: Path, server_timeout_s: float) -> str:
    """The configuration file's text. ``server_timeout_s`` bounds one request to a
    replica: a turn waits for Rasa (``RASA_TIMEOUT_S``) and then for the transcript."""
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        stats_socket=str(stats_socket),
        server_timeout_s=max(1, round(server_timeout_s)),
        public_bind=topology.public_bind,
        rasa_bind=topology.rasa_bind,
        action_bind=topology.action_bind,
        gateway_servers=_servers(topology.gateways),
        rasa_servers=_servers(topology.rasa),
        action_servers=_servers(topology.actions),
    )


def _servers(replicas: tuple[Replica, ...]) -> str:
    return "\n".join(f"    server {r.name} {r.address} check" for r in replicas)


def parse_replicas(prefix: str, addresses: str) -> tuple[Replica, ...]:
    """``"10.0.0.1:8081,10.0.0.2:8081"`` → replicas named ``prefix-1``, ``prefix-2``."""
    parts = [part.strip() for part in addresses.split(",") if part.strip()]
    for part in parts:
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{part!r} is not host:port")
    return tuple(Replica(f"{prefix}-{i}", part) for i, part in enumerate(parts, start=1))


def server_states(stats_socket: Path, timeout_s: float = 5.0) -> dict[tuple[str, str], str]:
    """``{(backend, server): "UP" | "DOWN" | "MAINT" | …}`` from HAProxy's ``show stat``,
    for the replicas' backends; the fault drills and tests wait on it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout_s)
        client.connect(str(stats_socket))
        client.sendall(b"show stat\n")
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    lines = b"".join(chunks).decode().lstrip("# ").splitlines()
    return {
        (row["pxname"], row["svname"]): row["status"].split(" ")[0]
        for row in csv.DictReader(line for line in lines if line)
        if row["svname"] not in ("FRONTEND", "BACKEND")
    }


def log_records(log_path: Path) -> list[dict[str, str]]:
    """HAProxy's request lines (``key=value`` fields, see the template's ``log-format``),
    e.g. to see which replica served a conversation; other lines are skipped."""
    if not log_path.exists():
        return []
    records = []
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("frontend="):
            records.append(dict(field.split("=", 1) for field in line.split() if "=" in field))
    return records
