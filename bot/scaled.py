"""The scaled deployment on one machine: ``make run-scaled``.

N gateways, N Rasa servers and M action servers behind HAProxy (``deploy/haproxy.cfg``),
with the reference work-order service and the outbox relay, all on PostgreSQL and Redis:
replicas share nothing but those, so a replica can die and another carries on. HAProxy
listens where the single stack's processes would (``LB_PORT`` for citizens, ``RASA_PORT``
for the gateways, ``ACTION_PORT`` for Rasa) and replica i of each tier on that port + i.

The load test and the fault drills build on :class:`ScaledStack`: ``processes`` names every
process, ``kill`` and ``restart`` act on one, ``server_states`` reads HAProxy's view.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.bench.common import free_port, local_stack_settings
from bot.launcher import (
    APP_PYTHON,
    ManagedProcess,
    Stack,
    StartupError,
    action_process,
    app_environment,
    gateway_process,
    rasa_process,
    runs_reference_service,
    serve,
    wait_until_ready,
    workorder_process,
)
from bot.loadbalancer import Replica, Topology, haproxy_binary, render, server_states
from bot.rasa_runtime import ensure_model
from bot.settings import Settings

# A turn may wait RASA_TIMEOUT_S for Rasa, then writes the transcript: HAProxy gives a
# replica this much longer before it gives up on a request.
SERVER_TIMEOUT_MARGIN_S = 15.0
# How long the first gateway may take to create the tables (it loads search first).
TABLES_TIMEOUT_S = 300.0


class ScaledModeError(ValueError):
    """The settings cannot run replicas (no shared PostgreSQL or Redis, clashing ports)."""


def require_shared_state(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("DATABASE_URL", settings.database_url),
            ("REDIS_URL", settings.redis_url),
        )
        if not value
    ]
    if missing:
        raise ScaledModeError(
            f"规模化部署需要 PostgreSQL 和 Redis，请设置 {' 和 '.join(missing)}。\n"
            f"The scaled deployment needs {' and '.join(missing)}: its replicas share Rasa's "
            "trackers, the transcript and accounts (PostgreSQL) and the conversation locks, "
            "rate limits, live events and work-order outbox (Redis). For example:\n"
            "  make run-scaled DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hotline "
            "REDIS_URL=redis://127.0.0.1:6379/0"
        )


class ScaledStack(Stack):
    """Replicas of every tier behind HAProxy; see the module's docstring for the ports."""

    def __init__(self, settings: Settings, gateways: int, rasa: int, actions: int) -> None:
        require_shared_state(settings)
        if min(gateways, rasa, actions) < 1:
            raise ScaledModeError("every tier needs at least one replica")
        self.counts = {"gateway": gateways, "rasa": rasa, "actions": actions}
        # What the other processes call "the gateway" (the work-order platform's webhooks)
        # and "Rasa" (the gateways' RASA_URL) are HAProxy's frontends.
        super().__init__(
            settings.with_overrides(
                gateway_port=settings.lb_port, rasa_url=f"http://127.0.0.1:{settings.rasa_port}"
            )
        )
        self.haproxy = haproxy_binary()
        self.haproxy_config = self.settings.var_dir / "haproxy.cfg"
        self.stats_socket = self.settings.var_dir / "haproxy.sock"
        _check_ports(self._ports())

    @classmethod
    def from_settings(cls, settings: Settings) -> ScaledStack:
        """The replica counts of ``SCALED_GATEWAYS``, ``SCALED_RASA`` and ``SCALED_ACTIONS``."""
        return cls(
            settings, settings.scaled_gateways, settings.scaled_rasa, settings.scaled_actions
        )

    def _ports(self) -> list[int]:
        s = self.settings
        ports = [s.workorder_port] if runs_reference_service(s) else []
        for base, tier in (
            (s.lb_port, "gateway"),
            (s.rasa_port, "rasa"),
            (s.action_port, "actions"),
        ):
            ports += range(base, base + self.counts[tier] + 1)
        return ports

    def _replica_settings(self, tier: str, index: int) -> Settings:
        s = self.settings
        if tier == "gateway":
            # Only HAProxy reaches a gateway, so the client's address is the last entry of
            # the X-Forwarded-For it adds (rate limits per address stay per citizen).
            return s.with_overrides(
                host="127.0.0.1",
                gateway_port=s.lb_port + index,
                trusted_proxy_header=s.trusted_proxy_header or "X-Forwarded-For",
            )
        if tier == "rasa":
            port = s.rasa_port + index
            return s.with_overrides(rasa_port=port, rasa_url=f"http://127.0.0.1:{port}")
        return s.with_overrides(action_port=s.action_port + index)

    def _define(self, model: Path) -> list[ManagedProcess]:
        s = self.settings
        build: dict[str, Callable[[Settings, str], ManagedProcess]] = {
            "actions": action_process,
            "rasa": lambda replica, name: rasa_process(replica, model, name),
            "gateway": gateway_process,
        }
        replicas = [
            build[tier](self._replica_settings(tier, i), f"{tier}-{i}")
            for tier in ("actions", "rasa", "gateway")
            for i in range(1, self.counts[tier] + 1)
        ]
        logs = s.var_dir / "logs"
        relay = ManagedProcess(
            "relay",
            [str(APP_PYTHON), "-m", "bot", "workorder-relay"],
            None,  # no HTTP side: ready while it runs
            app_environment(s),
            logs / "relay.log",
        )
        haproxy = ManagedProcess(
            "haproxy",
            [self.haproxy, "-db", "-f", str(self.haproxy_config)],
            f"http://127.0.0.1:{s.lb_port}/readyz",  # through HAProxy to a ready gateway
            dict(os.environ),
            logs / "haproxy.log",
        )
        return [
            *([workorder_process(s)] if runs_reference_service(s) else []),
            *replicas,
            relay,
            haproxy,
        ]

    def _topology(self) -> Topology:
        s = self.settings

        def tier(name: str, base: int) -> tuple[Replica, ...]:
            return tuple(
                Replica(f"{name}-{i}", f"127.0.0.1:{base + i}")
                for i in range(1, self.counts[name] + 1)
            )

        return Topology(
            public_bind=f"{s.host}:{s.lb_port}",
            rasa_bind=f"127.0.0.1:{s.rasa_port}",
            action_bind=f"127.0.0.1:{s.action_port}",
            gateways=tier("gateway", s.lb_port),
            rasa=tier("rasa", s.rasa_port),
            actions=tier("actions", s.action_port),
        )

    def launch(self) -> None:
        """Starts every process. The gateways after the first wait until it is up, because
        the first creates the database's tables and two creating them at once collide."""
        self.haproxy_config.parent.mkdir(parents=True, exist_ok=True)
        timeout_s = self.settings.rasa_timeout_s + SERVER_TIMEOUT_MARGIN_S
        self.haproxy_config.write_text(
            render(self._topology(), self.stats_socket, timeout_s), encoding="utf-8"
        )
        self.processes = self._define(ensure_model(self.settings))
        first, *later = [p for p in self.processes if p.name.startswith("gateway-")]
        for process in self.processes:
            if process not in later:
                process.start()
        # The same process, probed on its liveness instead of its readiness (which waits
        # for a Rasa replica to load).
        alive = replace(first, ready_url=f"http://127.0.0.1:{self.settings.lb_port + 1}/healthz")
        try:
            wait_until_ready([alive], TABLES_TIMEOUT_S, lambda _: None)
        except StartupError:
            self.stop()
            raise
        for process in later:
            process.start()

    def wait_ready(self, timeout_s: float = 300.0, progress: Callable[[str], None] = print) -> None:
        """Every process answers, and HAProxy has seen every replica pass its health check
        (until then it sends nothing there: a turn would find no action server)."""
        deadline = time.monotonic() + timeout_s
        super().wait_ready(timeout_s, progress)
        try:
            for name in self._balanced():
                self.wait_for_state(name, "UP", max(1.0, deadline - time.monotonic()))
        except TimeoutError as exc:
            self.stop()
            raise StartupError(str(exc)) from exc
        progress("  HAProxy sees every replica up")

    def _balanced(self) -> list[str]:
        """The processes HAProxy balances over (its server names)."""
        return [p.name for p in self.processes if p.name.rpartition("-")[0] in self.counts]

    # -- for the load test and the fault drills ------------------------------------------

    def process(self, name: str) -> ManagedProcess:
        for process in self.processes:
            if process.name == name:
                return process
        known = ", ".join(p.name for p in self.processes)
        raise KeyError(f"no process named {name!r} (known: {known})")

    def kill(self, name: str) -> None:
        """``kill -9`` of the process and its children, as a crash would end them."""
        managed = self.process(name)
        if managed.process is not None and managed.exited() is None:
            os.killpg(managed.process.pid, signal.SIGKILL)
            managed.process.wait()

    def restart(
        self, name: str, timeout_s: float = 300.0, progress: Callable[[str], None] = print
    ) -> None:
        """Starts the process again (stopping it first if it runs) and waits until it is
        ready and, for a replica, back in HAProxy's rotation."""
        deadline = time.monotonic() + timeout_s
        managed = self.process(name)
        managed.stop()
        managed.start()
        wait_until_ready([managed], timeout_s, progress)
        if name in self._balanced():
            self.wait_for_state(name, "UP", max(1.0, deadline - time.monotonic()))

    def server_states(self) -> dict[tuple[str, str], str]:
        """HAProxy's view: ``{(backend, server): "UP" | "DOWN" | …}``."""
        return server_states(self.stats_socket)

    def wait_for_state(self, server: str, state: str, timeout_s: float = 120.0) -> None:
        """Waits until every backend that has ``server`` (e.g. ``gateway-1``) sees it in
        ``state`` (``UP`` or ``DOWN``); the deadline only guards against a hang."""
        deadline = time.monotonic() + timeout_s
        while True:
            seen = {k: v for k, v in self.server_states().items() if k[1] == server}
            if not seen:
                raise KeyError(f"HAProxy has no server named {server!r}")
            if all(value == state for value in seen.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{server} is {seen}, not {state}, after {timeout_s:.0f} s")
            time.sleep(0.2)


def _check_ports(ports: list[int]) -> None:
    clashes = sorted({port for port in ports if ports.count(port) > 1})
    if clashes:
        raise ScaledModeError(
            f"ports {clashes} are used twice: LB_PORT, RASA_PORT and ACTION_PORT each need "
            "their replica count + 1 free ports above them, apart from WORKORDER_PORT"
        )


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive ports that are free now (HAProxy's frontend and
    the replicas above it)."""
    while True:
        first = free_port()
        if first + size > 65535:
            continue
        try:
            for port in range(first + 1, first + size):
                _bind_check(port)
        except OSError:
            continue
        return first


def _bind_check(port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def local_scaled_settings(
    base: Settings, var_dir: Path, gateways: int, rasa: int, actions: int, **overrides: Any
) -> Settings:
    """Settings for a scaled stack of our own on free local ports (tests, load tests and
    drills never meet a running ``make run-scaled``)."""
    lb, rasa_port = free_port_block(gateways + 1), free_port_block(rasa + 1)
    ports: dict[str, Any] = {
        "lb_port": lb,
        "gateway_port": lb,
        "rasa_port": rasa_port,
        "rasa_url": f"http://127.0.0.1:{rasa_port}",
        "action_port": free_port_block(actions + 1),
        "scaled_gateways": gateways,
        "scaled_rasa": rasa,
        "scaled_actions": actions,
    }
    return local_stack_settings(base, var_dir, **{**ports, **overrides})


def run_scaled_forever(settings: Settings) -> int:
    stack = ScaledStack.from_settings(settings)
    counts = stack.counts
    started = (
        f"12345 智能助手（{counts['gateway']} 个网关、{counts['rasa']} 个 Rasa、"
        f"{counts['actions']} 个动作服务器，经 HAProxy 负载均衡）已启动 / the scaled assistant "
        "is running behind HAProxy"
    )
    return serve(stack, started)
