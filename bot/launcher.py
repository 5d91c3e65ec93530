"""Starts the assistant's processes, waits until each is ready, and stops them together.

`make run` and the end-to-end tests use the same code, so what the tests start is what a
newcomer gets. Each process writes its log to ``var/logs/<name>.log``.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.rasa_runtime import ensure_model, rasa_environment, rasa_server_command, write_endpoints
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

APP_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"


class StartupError(RuntimeError):
    """A process exited or did not become ready in time."""


@dataclass
class ManagedProcess:
    """One process of the assistant; ``ready_url`` answers 200 once it can serve, or is
    ``None`` for a worker with no HTTP side (the outbox relay), ready while it runs."""

    name: str
    command: list[str]
    ready_url: str | None
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def is_ready(self) -> bool:
        if self.ready_url is None:
            return self.process is not None and self.exited() is None
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, timeout_s: float = 15.0) -> None:
        self.terminate()
        self.wait_stopped(timeout_s)

    def terminate(self) -> None:
        """Asks the process group to stop (SIGTERM) without waiting for it."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait_stopped(self, timeout_s: float = 15.0) -> None:
        """After :meth:`terminate`: waits, and kills the group if it takes too long."""
        if self.process is not None:
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def prepare_settings(settings: Settings) -> Settings:
    """Fills in per-run secrets that were not configured, so none is ever committed, and
    points the reference work-order service's webhooks at this gateway."""
    generated = {
        name: secrets.token_urlsafe(24)
        for name in (
            "rasa_token",
            "workorder_api_token",
            "workorder_token_secret",
            "workorder_webhook_secret",
        )
        if not getattr(settings, name)
    }
    if settings.workorder_webhook_url is None and runs_reference_service(settings):
        from bot.gateway.channels.workorder_notices import (
            WEBHOOK_PATH,  # the gateway is heavy to import
        )

        generated["workorder_webhook_url"] = (
            f"http://127.0.0.1:{settings.gateway_port}{WEBHOOK_PATH}"
        )
    return settings.with_overrides(**generated) if generated else settings


def runs_reference_service(settings: Settings) -> bool:
    """Whether the work-order system is the embedded reference service (started here),
    rather than a platform the deployment points ``WORKORDER_URL`` at."""
    return settings.workorder_url.rstrip("/") == f"http://127.0.0.1:{settings.workorder_port}"


def app_environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **settings.to_env(),
        "PYTHONPATH": str(PROJECT_ROOT),
        "TOKENIZERS_PARALLELISM": "false",
    }


def workorder_process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(
        "workorders",
        [str(APP_PYTHON), "-m", "bot", "workorder-service"],
        f"http://127.0.0.1:{settings.workorder_port}/readyz",
        app_environment(settings),
        settings.var_dir / "logs" / "workorders.log",
    )


def action_process(settings: Settings, name: str = "actions") -> ManagedProcess:
    return ManagedProcess(
        name,
        [str(APP_PYTHON), "-m", "actions.server"],
        f"http://{settings.internal_address}:{settings.action_port}/ready",  # classifier loaded
        app_environment(settings),
        settings.var_dir / "logs" / f"{name}.log",
    )


def rasa_process(settings: Settings, model: Path, name: str = "rasa") -> ManagedProcess:
    return ManagedProcess(
        name,
        rasa_server_command(settings, model, write_endpoints(settings)),
        f"http://{settings.internal_address}:{settings.rasa_port}/status?token={settings.rasa_token}",
        rasa_environment(settings),
        settings.var_dir / "logs" / f"{name}.log",
    )


def gateway_process(settings: Settings, name: str = "gateway") -> ManagedProcess:
    return ManagedProcess(
        name,
        [str(APP_PYTHON), "-m", "bot", "gateway"],
        f"http://127.0.0.1:{settings.gateway_port}/readyz",
        app_environment(settings),
        settings.var_dir / "logs" / f"{name}.log",
    )


def wait_until_ready(
    processes: list[ManagedProcess], timeout_s: float, progress: Callable[[str], None]
) -> None:
    """Polls until every process answers ready; raises :class:`StartupError` when one exits
    or the deadline passes (the caller decides what to stop)."""
    deadline = time.monotonic() + timeout_s
    pending = list(processes)
    while pending:
        for process in list(pending):
            code = process.exited()
            if code is not None:
                raise StartupError(
                    f"{process.name} exited with code {code}; see {process.log_path}"
                )
            if process.is_ready():
                progress(f"  {process.name} is ready")
                pending.remove(process)
        if pending and time.monotonic() > deadline:
            names = ", ".join(p.name for p in pending)
            raise StartupError(f"not ready after {timeout_s:.0f} s: {names}")
        if pending:
            time.sleep(0.5)


class Stack:
    """The Rasa server, the action server, the gateway and (unless ``WORKORDER_URL`` points
    elsewhere) the reference work-order service, started together; each must become ready."""

    def __init__(self, settings: Settings) -> None:
        self.settings = prepare_settings(settings)
        self.processes: list[ManagedProcess] = []

    def _define(self, model: Path) -> list[ManagedProcess]:
        s = self.settings
        return [
            *([workorder_process(s)] if runs_reference_service(s) else []),
            action_process(s),
            rasa_process(s, model),
            gateway_process(s),
        ]

    def start(self, timeout_s: float = 300.0, progress: Callable[[str], None] = print) -> None:
        self.launch()
        self.wait_ready(timeout_s, progress)

    def launch(self) -> None:
        """Starts every process without waiting, so several stacks can load in parallel."""
        model = ensure_model(self.settings)
        self.processes = self._define(model)
        for process in self.processes:
            process.start()

    def wait_ready(self, timeout_s: float = 300.0, progress: Callable[[str], None] = print) -> None:
        try:
            wait_until_ready(self.processes, timeout_s, progress)
        except StartupError:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """Where citizens open the chat."""
        return self.settings.gateway_url

    def stop(self) -> None:
        """All at once: each process may take seconds to finish what it is doing."""
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            process.wait_stopped()

    def wait(self) -> int:
        """Blocks until Ctrl-C or until one process dies; then stops the others."""
        try:
            while True:
                for process in self.processes:
                    code = process.exited()
                    if code is not None:
                        print(f"{process.name} exited with code {code}; see {process.log_path}")
                        return 1
                time.sleep(1)
        except KeyboardInterrupt:
            print("\n正在停止… stopping all processes")
            return 0
        finally:
            self.stop()


def stop_on_sigterm() -> None:
    """SIGTERM (a `kill`, a CI timeout) unwinds like Ctrl-C, so the ``finally`` blocks that
    stop the children run: they live in sessions of their own and outlive us otherwise."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_forever(settings: Settings) -> int:
    return serve(Stack(settings), "12345 智能助手已启动 / the assistant is running")


def serve(stack: Stack, started: str) -> int:
    """Starts ``stack``, says where to open it (after ``started``), and runs until Ctrl-C,
    SIGTERM or a process's death; every process is stopped on the way out."""
    print("Starting the 12345 assistant (first start trains the Rasa model; that takes minutes)…")
    stop_on_sigterm()
    try:
        stack.start()
    except StartupError as exc:
        print(f"Startup failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the children run in their own sessions: Ctrl-C misses them
        print("\n正在停止… stopping all processes")
        stack.stop()
        return 0
    print(f"\n  {started}: {stack.url}/\n  Press Ctrl-C to stop.\n")
    return stack.wait()
