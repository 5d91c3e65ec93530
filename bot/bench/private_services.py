"""Redis, PostgreSQL and RabbitMQ servers of a run's own, on free ports in a scratch folder.

Fault drills restart the backing services while the assistant runs; doing that to the
machine's shared servers would break every other user of them, so a drill (and the fault
tests) start private ones that can be restarted freely. Each keeps its data in its folder
across restarts, as a real server does: Redis with an append-only file written on every
command (``appendfsync always``: the work-order outbox lives there), PostgreSQL with a
normal cluster, RabbitMQ with its own node name and Mnesia directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from bot.bench.common import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
READY_TIMEOUT_S = 120.0


class ServiceError(RuntimeError):
    """A private server did not start or stop."""


class PrivateService(Protocol):
    name: str
    url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def restart(self) -> None: ...


def _wait_until(check: Callable[[], bool], what: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Polls ``check`` until it holds; the deadline only guards against a hung server."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} not ready after {timeout_s:.0f} s")
        time.sleep(0.1)


def _stop_group(process: subprocess.Popen[bytes] | None, timeout_s: float = 60.0) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class _ServerProcess:
    """A server run as a child in a session of its own, its output in a log file in
    ``folder``; subclasses say how to start it and when it answers."""

    name = ""
    log_name = ""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _launch(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self._log = (self.folder / self.log_name).open("ab")
        self._process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        _wait_until(self._answers, f"private {self.name}")

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise ServiceError(f"{self.name} exited; see {self.folder / self.log_name}")
        return self._listening()

    def _listening(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        _stop_group(self._process)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def start(self) -> None:
        raise NotImplementedError


class PrivateRedis(_ServerProcess):
    """``redis-server`` on a free port; a restart keeps every key (AOF, fsync always)."""

    name = "redis"
    log_name = "redis.log"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        self._launch([*command, "--dir", str(self.folder)])

    def _listening(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=2).ping())
        except redis.RedisError:
            return False


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own (trust auth, 127.0.0.1 only) on a free port.

    The cluster lives in a fresh folder under the system temp dir rather than the caller's
    folder, because the ``postgres`` user must be able to reach it when we run as root.
    """

    name = "postgresql"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.folder = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.folder / "data"
        self._initialised = False

    def _run(self, *args: str) -> None:
        result = subprocess.run(_as_postgres([*args]), capture_output=True, text=True)
        if result.returncode != 0:
            raise ServiceError(f"{args[0]} failed: {result.stderr or result.stdout}")

    def _init(self) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        initdb = str(PG_BIN / "initdb")
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._initialised = True

    def _pg_ctl(self, action: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=400"
            f" -c unix_socket_directories={self.folder}"
        )
        log = str(self.folder / "postgres.log")
        self._run(
            str(PG_BIN / "pg_ctl"),
            action,
            "-D",
            str(self.data),
            "-m",
            "fast",
            "-w",
            "-t",
            str(int(READY_TIMEOUT_S)),
            "-l",
            log,
            "-o",
            options,
        )

    def start(self) -> None:
        if not self._initialised:
            self._init()
        self._pg_ctl("start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop")

    def restart(self) -> None:
        self._pg_ctl("restart")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRabbitMQ(_ServerProcess):
    """A RabbitMQ node of its own: own node name, AMQP and distribution ports, config,
    Mnesia and log folders, no plugins; ``guest`` may log in over 127.0.0.1."""

    name = "rabbitmq"
    log_name = "rabbitmq.out"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.node = f"hotline-drill-{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "rabbitmq-env.conf").write_text("")
        (self.folder / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.folder / "enabled_plugins").write_text("[].\n")
        self._launch([str(RABBITMQ_BIN / "rabbitmq-server")], env=self._environment())

    def _listening(self) -> bool:
        """The AMQP listener opens only once the broker has booted."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        except OSError:
            return False
        return True


def rabbitmq_available() -> bool:
    return (RABBITMQ_BIN / "rabbitmq-server").exists()


def postgres_available() -> bool:
    return (PG_BIN / "initdb").exists() and (
        os.geteuid() != 0 or shutil.which("runuser") is not None
    )
