"""`make drill` (``python -m bot bench drill``): fault drills on the scaled deployment.

Starts the scaled deployment (2 gateways, 2 Rasa replicas, 2 action servers, the outbox
relay and the reference work-order service behind HAProxy) on private Redis, PostgreSQL
and RabbitMQ servers (bot/bench/private_services.py), so that restarting them touches
nobody else. Then, one drill at a time, simulated citizens chat through the load balancer
(bot/bench/drill_citizens.py) while one fault is injected: ``kill -9`` of a Rasa replica,
an action server or a gateway, and of the outbox relay while it delivers (the work-order
service frozen meanwhile), each started again afterwards; or Redis, PostgreSQL or RabbitMQ
stopped for a few seconds and started again. When the citizens have stopped and the
stores have settled,
the stores are compared with what the citizens sent (bot/bench/drill_audit.py) and one row
per drill is printed. The exit status is 1 when any count that must be zero is not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from bot.bench.drill_audit import (
    Counts,
    Stores,
    audit,
    wait_for_locks,
    wait_for_outbox,
    wait_for_understanding,
    wait_until,
)
from bot.bench.drill_citizens import Load
from bot.bench.private_services import (
    PrivatePostgres,
    PrivateRabbitMQ,
    PrivateRedis,
    PrivateService,
    rabbitmq_available,
)
from bot.launcher import stop_on_sigterm
from bot.scaled import ScaledStack, local_scaled_settings
from bot.settings import Settings

WARM_TURNS_PER_CITIZEN = 2  # answered turns per citizen before the fault goes in
DOWN_S = 5.0  # how long a killed process stays dead under load
RELAY_WAIT_S = 90.0  # until a submission reaches the relay while the service is frozen
SETTLE_S = 10.0  # load after recovery: every conversation's next turn must work
OUTBOX_TIMEOUT_S = 240.0  # a dead deliverer's lease (30 s) runs out well before
STREAM_TIMEOUT_S = 120.0  # Rasa republishes what a broker outage held back on reconnecting


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[], None]
    recover: Callable[[], None]


@dataclass(frozen=True)
class DrillResult:
    fault: str
    counts: Counts
    turns_per_s: float


class Drills:
    """The deployment, its private servers and the faults to inject into it."""

    def __init__(self, base: Settings, folder: Path, citizens: int) -> None:
        self.folder = folder
        self.citizens = citizens
        self.redis = PrivateRedis(folder / "redis")
        self.postgres = PrivatePostgres()
        self.rabbitmq = PrivateRabbitMQ(folder / "rabbitmq") if rabbitmq_available() else None
        self.services: list[PrivateService] = [self.redis, self.postgres]
        self.services += [self.rabbitmq] if self.rabbitmq else []
        self.stores = Stores(self.postgres.url, self.redis.url)
        self.base = base
        self.stack: ScaledStack | None = None

    def start(self, progress: Callable[[str], None]) -> ScaledStack:
        if self.rabbitmq is None:
            progress("  RabbitMQ is not installed: no event stream, no RabbitMQ drill")
        for service in self.services:
            service.start()
            progress(f"  private {service.name}: {service.url}")
        overrides: dict[str, object] = {
            "database_url": self.postgres.url,
            "redis_url": self.redis.url,
            "rasa_token": secrets.token_urlsafe(24),
            "kb_preload": True,
            "rate_limit_messages": 1_000_000,  # every simulated citizen shares 127.0.0.1
            "rate_limit_address_messages": 1_000_000,
        }
        if self.rabbitmq is not None:
            overrides["rabbitmq_url"] = self.rabbitmq.url
        settings = local_scaled_settings(self.base, self.folder / "var", 2, 2, 2, **overrides)
        self.stack = ScaledStack(settings, gateways=2, rasa=2, actions=2)
        self.stack.start(timeout_s=600, progress=progress)
        return self.stack

    def faults(self) -> list[Fault]:
        """Each process is killed and each server stopped for ``DOWN_S`` under load, then
        started again (the killed process through the stack, which waits until ready)."""
        assert self.stack is not None
        stack = self.stack
        faults = [
            Fault(
                f"kill -9 {name}",
                partial(stack.kill, name),
                partial(_after_down, partial(stack.restart, name)),
            )
            for name in ("rasa-1", "actions-1", "gateway-1")
        ]
        faults.append(self._relay_mid_delivery())
        faults += [
            Fault(f"restart {s.name}", s.stop, partial(_after_down, s.start)) for s in self.services
        ]
        return faults

    def _relay_mid_delivery(self) -> Fault:
        """The work-order service is frozen (SIGSTOP), so deliveries hang in flight; once
        the relay holds one, it is killed, the service resumes and the relay is started
        again: every accepted request must still become exactly one order."""
        assert self.stack is not None
        stack, stores = self.stack, self.stores

        def inject() -> None:
            os.kill(process_id(stack, "workorders"), signal.SIGSTOP)
            wait_until(lambda: stores.relay_leases() > 0, RELAY_WAIT_S)
            leases = stores.relay_leases()
            stack.kill("relay")
            print(f"  the relay was delivering {leases} request(s) when it was killed")

        def recover() -> None:
            os.kill(process_id(stack, "workorders"), signal.SIGCONT)
            stack.restart("relay")

        return Fault("kill -9 relay mid-delivery", inject, recover)

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
        for service in reversed(self.services):
            service.stop()


def process_id(stack: ScaledStack, name: str) -> int:
    process = stack.process(name).process
    assert process is not None
    return process.pid


def _after_down(start: Callable[[], None]) -> None:
    time.sleep(DOWN_S)  # the drill's pacing: the citizens keep chatting meanwhile
    start()


async def run_drill(
    stack: ScaledStack, stores: Stores, fault: Fault, citizens: int, folder: Path
) -> DrillResult:
    """One drill; what each citizen sent and heard is written to ``folder`` beside the
    servers' logs, to read when a count is not zero."""
    slug = fault.name.split()[-1]
    load = Load(stack.url, citizens, prefix=f"drill-{slug}")
    started = time.monotonic()
    await load.start()
    while load.answered() < WARM_TURNS_PER_CITIZEN * citizens:  # noqa: ASYNC110 - polls the citizens' own log
        await asyncio.sleep(0.2)
    await asyncio.to_thread(fault.inject)
    await asyncio.to_thread(fault.recover)
    await asyncio.sleep(SETTLE_S)
    logs = await load.finish()
    elapsed = time.monotonic() - started
    (folder / f"citizens-{slug}.json").write_text(
        json.dumps([asdict(log) for log in logs], ensure_ascii=False, indent=1)
    )
    await asyncio.to_thread(wait_for_locks, stores, logs, stack.settings.rasa_timeout_s)
    await asyncio.to_thread(wait_for_outbox, stores, logs, OUTBOX_TIMEOUT_S)
    await asyncio.to_thread(wait_for_understanding, stores, logs, STREAM_TIMEOUT_S)
    counts = await asyncio.to_thread(audit, stores, logs)
    return DrillResult(fault.name, counts, counts.turns / elapsed if elapsed else 0.0)


COLUMNS = (
    ("fault", 26),
    ("convs", 6),
    ("turns", 6),
    ("turns/s", 8),
    ("polite", 7),
    ("no reply", 9),
    ("repeat", 7),
    ("lost", 5),
    ("turn x2", 8),
    ("reply x2", 9),
    ("event x2", 9),
    ("locked", 7),
    ("WO", 4),
    ("WO lost", 8),
    ("WO x2", 6),
    ("NLU lost", 9),
    ("stuck", 6),
)


def table(results: list[DrillResult]) -> str:
    header = " ".join(title.ljust(width) for title, width in COLUMNS)
    lines = [header, "-" * len(header)]
    for result in results:
        c = result.counts
        values = (
            result.fault,
            c.conversations,
            c.turns,
            f"{result.turns_per_s:.1f}",
            c.polite,
            c.unanswered,
            c.repeated,
            c.turns_lost,
            c.turns_doubled,
            c.replies_doubled,
            c.events_doubled,
            c.locked,
            c.orders,
            c.orders_lost,
            c.orders_doubled,
            c.understanding_lost,
            c.stuck,
        )
        lines.append(
            " ".join(str(v).ljust(width) for v, (_, width) in zip(values, COLUMNS, strict=True))
        )
    return "\n".join(lines)


async def _drive(drills: Drills, stack: ScaledStack, only: set[str]) -> list[DrillResult]:
    results = []
    for fault in drills.faults():
        if only and not any(word in fault.name for word in only):
            continue
        print(f"drill: {fault.name} …", flush=True)
        result = await run_drill(stack, drills.stores, fault, drills.citizens, drills.folder)
        print(table([result]).splitlines()[-1], flush=True)
        results.append(result)
    return results


def main(args: argparse.Namespace) -> int:
    stop_on_sigterm()
    folder = Path(tempfile.mkdtemp(prefix="hotline-drill-"))
    drills = Drills(Settings.from_env(), folder, args.citizens)
    print(f"Fault drills: starting the scaled deployment on private servers in {folder} …")
    try:
        stack = drills.start(progress=print)
        results = asyncio.run(_drive(drills, stack, set(args.only or [])))
    finally:
        drills.stop()
    print()
    print(table(results))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                [
                    {"fault": r.fault, "turns_per_s": r.turns_per_s, **r.counts.as_dict()}
                    for r in results
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
    failed = {r.fault: r.counts.failures() for r in results if r.counts.failures()}
    if failed:
        print(f"\nFAILED: {json.dumps(failed, ensure_ascii=False)}")
        print(f"Logs and data kept in {folder} and {drills.postgres.folder}")
        return 1
    drills.postgres.remove()
    shutil.rmtree(folder, ignore_errors=True)
    print("\nEvery count that must be zero is zero.")
    return 0
