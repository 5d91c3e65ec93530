"""`make loadtest` (``python -m bot bench load``): capacity at 1 and 2 replicas, with locust.

Simulated citizens (``loadtest/locustfile.py``, run by locust from its own venv
``.venv-load``) chat in Chinese through HAProxy over the web chat's WebSocket and the REST
channel: greetings, standards questions, a department question, complaints taken through
the intake to a work order and its status. The scaled deployment (bot/scaled.py) starts
first with one gateway, one Rasa server and ACTIONS action servers, then with two gateways
and two Rasa servers, each on a fresh PostgreSQL database and a Redis database of its own.

Method: a step ramp. Each step is its own headless locust run with a fixed number of
citizens (spawned over ``ramp_s``, then measured for ``duration_s`` from fresh statistics,
``--reset-stats``). A step meets the target when its p99 turn latency is at most
``p99_ms`` and at most ``max_error_rate`` of its turns failed; the ramp stops at the first
step that misses it. A replica count's capacity is the highest turns/s of a step that met
the target; the two-replica ramp starts one step below the one-replica capacity, as the
steps below it are known to pass. The figures are locust's final statistics (its
percentiles are rounded to two significant digits above 100 ms), which the locustfile
writes as the run ends; each step's per-turn statistics and log stay in var/loadtest/.
Locust runs on the same two cores as the deployment it measures: the table's ``load``
column (the 1-minute load average as a step ends) shows when other work shared them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.bench.common import create_database, drop_database
from bot.launcher import stop_on_sigterm
from bot.scaled import ScaledStack, local_scaled_settings
from bot.settings import PROJECT_ROOT, Settings

LOCUST = PROJECT_ROOT / ".venv-load" / "bin" / "locust"
LOCUSTFILE = PROJECT_ROOT / "loadtest" / "locustfile.py"
SETUP_SCRIPT = PROJECT_ROOT / "scripts" / "setup_load.sh"
# Marks a Redis database as taken by one load-test run (see scratch_backends).
REDIS_CLAIM_KEY = "hotline:loadtest:claim"
STACK_TIMEOUT_S = 600.0
LOCUST_MARGIN_S = 120.0
TIERS = ("gateway", "rasa", "actions")
CPU_COLUMNS = (*TIERS, "other", "locust", "machine")


def ensure_locust() -> Path:
    """Installs locust into .venv-load unless its stamp is current (a few seconds when it is)."""
    subprocess.run(["bash", str(SETUP_SCRIPT)], check=True, cwd=PROJECT_ROOT)
    return LOCUST


@dataclass(frozen=True)
class Plan:
    steps: tuple[int, ...]  # citizens at each step of the ramp
    duration_s: float
    ramp_s: float
    think: str  # "min,max" seconds, LOAD_THINK_S of the locustfile
    p99_ms: float
    max_error_rate: float
    actions: int


@dataclass
class LocustResult:
    """One locust run: its aggregated turn statistics and whole conversations."""

    users: int
    turns: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    turns_per_s: float
    begun: dict[str, int] = field(default_factory=dict)
    finished: dict[str, int] = field(default_factory=dict)
    work_orders: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # failure message → occurrences
    replicas: int = 0
    load_avg: float = 0.0  # the machine's 1-minute load average as the run ended
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by tier (cpu_seconds)

    @property
    def error_rate(self) -> float:
        return self.failures / self.turns if self.turns else 1.0

    def meets(self, plan: Plan) -> bool:
        return (
            self.turns > 0 and self.p99_ms <= plan.p99_ms and self.error_rate <= plan.max_error_rate
        )


def run_locust(
    url: str,
    users: int,
    duration_s: float,
    think: str,
    out_prefix: Path,
    ramp_s: float = 1.0,
    stop_timeout_s: float | None = None,
    env: dict[str, str] | None = None,
    reset_stats: bool = False,
) -> LocustResult:
    """One headless locust run against ``url``. With ``reset_stats`` the statistics start
    when every citizen has been spawned; with ``stop_timeout_s`` the citizens finish the
    conversation they are in when time is up."""
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    report = out_prefix.with_name(out_prefix.name + "_summary.json")
    command = [
        str(LOCUST),
        *("-f", str(LOCUSTFILE), "--headless", "--only-summary"),
        *("-u", str(users), "-r", f"{users / max(ramp_s, 0.1):.3f}"),
        *("-t", f"{round(ramp_s + duration_s)}s", "--host", url),
        *("--json-file", str(out_prefix.with_name(out_prefix.name + "_turns"))),
        *("--exit-code-on-error", "0", "--loglevel", "WARNING"),
    ]
    if reset_stats:
        command.append("--reset-stats")
    if stop_timeout_s is not None:
        command += ["--stop-timeout", f"{stop_timeout_s:.0f}"]
    environment = {**os.environ, **(env or {}), "LOAD_THINK_S": think, "LOAD_REPORT": str(report)}
    log = out_prefix.with_name(out_prefix.name + "_locust.log")
    with log.open("wb") as output:
        # A guard against a locust that never stops (its users' errors end conversations,
        # not the run): the time limit, the stop timeout and a margin for start and report.
        deadline = ramp_s + duration_s + (stop_timeout_s or 0.0) + LOCUST_MARGIN_S
        try:
            completed = subprocess.run(
                command,
                cwd=LOCUSTFILE.parent,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=deadline,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"locust did not stop within {deadline:.0f} s; see {log}") from None
    if completed.returncode != 0:
        raise RuntimeError(f"locust exited with {completed.returncode}; see {log}")
    return _read_results(report, users)


def _read_results(report: Path, users: int) -> LocustResult:
    data = json.loads(report.read_text(encoding="utf-8"))
    data["turns_per_s"] = round(data["turns_per_s"], 2)
    return LocustResult(users=users, load_avg=os.getloadavg()[0], **data)


@contextmanager
def scratch_backends(postgres_server: str, redis_server: str) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database and an empty Redis database (of the server's 16) of this
    run's own, so it never meets another run's trackers, locks or work-order outbox; both
    are emptied afterwards. Yields their URLs."""
    import redis

    name = f"loadtest_{secrets.token_hex(4)}"
    database_url = create_database(postgres_server, name)
    token = secrets.token_hex(8)
    redis_url = ""
    try:
        for db in range(15, 0, -1):
            candidate = urlsplit(redis_server)._replace(path=f"/{db}").geturl()
            client = redis.Redis.from_url(candidate)
            if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, token, nx=True):
                redis_url = candidate
                break
        else:
            raise RuntimeError(f"no empty Redis database on {redis_server} for the load test")
        yield database_url, redis_url
    finally:
        drop_database(postgres_server, name)
        if redis_url:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(count=1000):
                client.unlink(key)


def start_stack(
    base: Settings, var_dir: Path, replicas: int, actions: int, **overrides: Any
) -> ScaledStack:
    """Gateways and Rasa servers ``replicas`` each; ``overrides`` name at least the
    PostgreSQL and Redis to use."""
    settings = local_scaled_settings(
        base,
        var_dir,
        replicas,
        replicas,
        actions,
        rasa_token=secrets.token_urlsafe(24),
        kb_preload=True,
        # Every simulated citizen comes from 127.0.0.1.
        rate_limit_address_messages=1_000_000,
        **overrides,
    )
    stack = ScaledStack(settings, gateways=replicas, rasa=replicas, actions=actions)
    try:
        stack.start(timeout_s=STACK_TIMEOUT_S, progress=print)
    except BaseException:  # Ctrl-C while it loads too: leave no process behind
        stack.stop()
        raise
    return stack


def _ramp(
    stack: ScaledStack, plan: Plan, steps: tuple[int, ...], out: Path, replicas: int
) -> list[LocustResult]:
    url = stack.url
    warmup = run_locust(url, 2, 10, "0,0.5", out / "warmup", ramp_s=1)  # lazy first calls
    if warmup.failures:
        print(f"warning: {warmup.failures} turns of the warm-up failed: {warmup.errors}")
    results = []
    for users in steps:
        prefix = out / f"users-{users}"
        before, started = cpu_seconds(stack), time.monotonic()
        result = run_locust(
            url, users, plan.duration_s, plan.think, prefix, plan.ramp_s, reset_stats=True
        )
        elapsed = time.monotonic() - started
        after = cpu_seconds(stack)
        result.cpu = {tier: round((after[tier] - before[tier]) / elapsed, 2) for tier in after}
        result.replicas = replicas
        results.append(result)
        print(_row(result))
        if not result.meets(plan):
            break
    return results


def cpu_seconds(stack: ScaledStack) -> dict[str, float]:
    """CPU seconds used so far by each tier of the deployment (every process of a replica's
    session, e.g. the gateway's search worker), by the rest of it, and by locust (our
    finished child processes), and by the whole machine. Linux's /proc."""
    tiers = {p.process.pid: p.name.split("-")[0] for p in stack.processes if p.process}
    used = dict.fromkeys(CPU_COLUMNS, 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        tier = tiers.get(int(fields[3]))  # the session: the replica whose process began it
        if tier is not None:
            used[tier if tier in TIERS else "other"] += (int(fields[11]) + int(fields[12])) / tick
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["locust"] = children.ru_utime + children.ru_stime
    # Every process on the machine, ours or not: what is left over was other work.
    # /proc/stat's "cpu" line: user nice system idle iowait irq softirq steal (guest…).
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    used["machine"] = (sum(ticks[:3]) + sum(ticks[5:8])) / tick
    return used


def capacity(results: list[LocustResult], plan: Plan) -> LocustResult | None:
    passing = [r for r in results if r.meets(plan)]
    return max(passing, key=lambda r: r.turns_per_s) if passing else None


HEADER = (
    f"{'replicas':>8} {'users':>5} {'turns':>6} {'failed':>6} {'err %':>6} {'p50 ms':>7} "
    f"{'p95 ms':>7} {'p99 ms':>7} {'turns/s':>8} {'load':>5}  cores used: "
    + " ".join(f"{name:>7}" for name in CPU_COLUMNS)
)


def _row(r: LocustResult) -> str:
    return (
        f"{r.replicas:>8} {r.users:>5} {r.turns:>6} {r.failures:>6} {100 * r.error_rate:>6.2f} "
        f"{r.p50_ms:>7.0f} {r.p95_ms:>7.0f} {r.p99_ms:>7.0f} {r.turns_per_s:>8.2f} "
        f"{r.load_avg:>5.1f}              "
        + " ".join(f"{r.cpu.get(name, 0.0):>7.2f}" for name in CPU_COLUMNS)
    )


def summary(by_replicas: dict[int, list[LocustResult]], plan: Plan) -> str:
    lines = [HEADER, *(_row(r) for results in by_replicas.values() for r in results), ""]
    best = {n: capacity(results, plan) for n, results in by_replicas.items()}
    target = f"p99 ≤ {plan.p99_ms / 1000:g} s, errors ≤ {100 * plan.max_error_rate:g} %"
    for n, result in best.items():
        if result is None:
            lines.append(f"{n} replica(s): no step met the target ({target})")
            continue
        ceiling = (
            " (the ramp never missed the target: at least this)"
            if by_replicas[n][-1].meets(plan)
            else ""
        )
        lines.append(
            f"{n} replica(s): {result.turns_per_s:.2f} turns/s at {result.users} citizens, "
            f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms{ceiling}"
        )
    one, two = best.get(1), best.get(2)
    if one and two:
        lines.append(
            f"2 vs 1 replicas, turns/s at {target}: {two.turns_per_s / one.turns_per_s:.2f}×"
        )
    errors = sum((Counter(r.errors) for rs in by_replicas.values() for r in rs), Counter[str]())
    for message, count in errors.most_common(5):
        lines.append(f"  failed turns: {count} × {message}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    plan = Plan(
        steps=tuple(int(n) for n in args.users.split(",")),
        duration_s=args.duration,
        ramp_s=args.ramp,
        think=args.think,
        p99_ms=args.p99 * 1000,
        max_error_rate=args.max_errors / 100,
        actions=args.actions,
    )
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # progress shows while a step runs
    stop_on_sigterm()
    ensure_locust()
    base = Settings.from_env()
    out = base.var_dir / "loadtest"
    shutil.rmtree(out, ignore_errors=True)
    print(f"Load test (locust; statistics and logs in {out}); load average {_load()}")
    by_replicas: dict[int, list[LocustResult]] = {}
    steps = plan.steps
    for replicas in (1, 2):
        print(
            f"\n== {replicas} gateway(s), {replicas} Rasa server(s), {plan.actions} action server(s)"
        )
        with scratch_backends(args.postgres_url, args.redis_url) as (database_url, redis_url):
            stack = start_stack(
                base,
                out / f"replicas-{replicas}",
                replicas,
                plan.actions,
                database_url=database_url,
                redis_url=redis_url,
            )
            try:
                print(HEADER)
                by_replicas[replicas] = _ramp(
                    stack, plan, steps, out / f"replicas-{replicas}", replicas
                )
            finally:
                stack.stop()
        best = capacity(by_replicas[replicas], plan)
        start = plan.steps.index(best.users) - 1 if best else 0
        steps = plan.steps[max(0, start) :]
    print(f"\nLoad average after the run {_load()}\n")
    text = summary(by_replicas, plan)
    print(text)
    if args.json is not None:
        data = {str(n): [asdict(r) for r in results] for n, results in by_replicas.items()}
        args.json.write_text(
            json.dumps({"plan": asdict(plan), "steps": data}, ensure_ascii=False, indent=2)
        )
    return 0


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
