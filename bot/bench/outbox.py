"""``python -m bot bench outbox``: orders per second, and delivery after an outage.

Runs the real processes: the reference work-order service and the outbox relay as
subprocesses (``python -m bot workorder-service`` / ``workorder-relay``), the submitting
citizens in this process. Three phases:

1. throughput: ``orders`` requests written to the outbox by ``concurrency`` concurrent
   submitters while the relay delivers them — acceptance rate (what a citizen waits for)
   and delivery rate (orders created in the work-order system per second);
2. interactive: requests submitted the way the dialogue does it (outbox, then one quick
   delivery attempt) — how long until the citizen has the work-order number;
3. outage: the service is stopped for ``outage_s`` seconds while requests keep arriving
   at ``outage_rate`` per second; after the restart, how long until every one of them is
   an order (the delivery lag after the outage), and that each became exactly one order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.bench.common import create_database, drop_database, free_port, percentile
from bot.clock import utcnow
from bot.settings import PROJECT_ROOT, Settings
from bot.storage import open_engine
from bot.wiring import workorder_system
from bot.workorder_service.store import orders
from bot.workorders.desk import WorkOrderDesk, build_policy
from bot.workorders.models import CitizenRequest
from bot.workorders.outbox import EntryKind, NewEntry, Outbox, OutboxRelay, create_outbox


@dataclass(frozen=True)
class BenchConfig:
    backend: str = "sqlite"  # sqlite | postgres | redis
    orders: int = 2000
    concurrency: int = 16
    interactive: int = 200
    outage_s: float = 60.0
    outage_rate: float = 20.0
    database_url: str = "postgresql://postgres@127.0.0.1:5432/test"
    redis_url: str = "redis://127.0.0.1:6379/0"


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", *self.args],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def _wait_ready(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


def _request(tag: str, i: int) -> CitizenRequest:
    return CitizenRequest(
        content=f"{tag}压测诉求{i}：小区楼道灯不亮，晚上出行不便",
        phone=f"139{i % 10**8:08d}",
        address=f"{tag}路{i}号",
        district="历下区",
        request_type="求助",
        department="市城市管理局",
    )


async def _submit_all(
    count: int, concurrency: int, submit: Callable[[int], Awaitable[Any]]
) -> tuple[float, list[float], list[Any]]:
    """Runs ``submit(i)`` for every i with bounded concurrency; wall time and latencies."""
    slots = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    results: list[Any] = [None] * count

    async def one(i: int) -> None:
        async with slots:
            started = time.perf_counter()
            results[i] = await submit(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started, latencies, results


async def _wait_delivered(outbox: Outbox, timeout_s: float) -> float:
    """Seconds until the outbox has nothing pending."""
    started = time.perf_counter()
    while (await outbox.counts())["pending"]:
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"not drained after {timeout_s}s: {await outbox.counts()}")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


class Bench:
    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        port = free_port()
        settings = Settings.from_env().with_overrides(
            var_dir=self.tmp / "var",
            workorder_port=port,
            workorder_url=f"http://127.0.0.1:{port}",
            workorder_api_token=secrets.token_urlsafe(16),
            workorder_token_secret=secrets.token_urlsafe(16),
            workorder_webhook_url=None,
            database_url=None,
            redis_url=config.redis_url if config.backend == "redis" else None,
            log_level="WARNING",
        )
        self.pg_database: str | None = None
        if config.backend == "postgres":
            self.pg_database = f"bench_outbox_{uuid.uuid4().hex[:8]}"
            settings = settings.with_overrides(
                database_url=create_database(config.database_url, self.pg_database)
            )
        self.settings = settings
        env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(PROJECT_ROOT)}
        logs = self.tmp / "logs"
        logs.mkdir(parents=True)
        self.service = Process("service", ["workorder-service"], env, logs / "service.log")
        self.relay = Process(
            "relay", ["workorder-relay", "--redis-prefix", self.prefix], env, logs / "relay.log"
        )

    def _start_service(self) -> None:
        self.service.start()
        _wait_ready(f"{self.settings.workorder_url}/readyz")

    async def run(self) -> dict[str, Any]:
        outbox = create_outbox(self.settings, self.prefix)
        await outbox.setup()
        policy = build_policy(self.settings)
        try:
            self._start_service()
            self.relay.start()
            figures: dict[str, Any] = {"backend": self.config.backend}
            figures["throughput"] = await self._throughput(outbox, policy)
            figures["interactive"] = await self._interactive(outbox, policy)
            figures["outage"] = await self._outage(outbox, policy)
            figures["exactly_once"] = await self._check_exactly_once(outbox)
            return figures
        finally:
            self.relay.stop()
            self.service.stop()
            await outbox.close()
            if self.pg_database:
                drop_database(self.config.database_url, self.pg_database)
            if self.config.backend == "redis":
                await self._drop_redis_keys()
            shutil.rmtree(self.tmp, ignore_errors=True)

    async def _drop_redis_keys(self) -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(self.config.redis_url)
        keys = [key async for key in client.scan_iter(f"{{{self.prefix}}}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    def _new_entry(self, policy: Any, request: CitizenRequest) -> NewEntry:
        now = utcnow()
        limit = policy.rules.classify(request.department, request.urgent)
        return NewEntry(
            kind=EntryKind.CREATE,
            request=request,
            accepted_at=now,
            deadline=policy.deadline(now, limit),
            day=policy.local_date(now),
        )

    async def _throughput(self, outbox: Outbox, policy: Any) -> dict[str, float]:
        count = self.config.orders
        wall, latencies, _ = await _submit_all(
            count,
            self.config.concurrency,
            lambda i: outbox.submit(self._new_entry(policy, _request("吞吐", i)), 86400),
        )
        drain = await _wait_delivered(outbox, timeout_s=600)
        return {
            "orders": count,
            "concurrency": self.config.concurrency,
            "accepted_per_s": round(count / wall, 1),
            "accept_p50_ms": round(statistics.median(latencies) * 1000, 2),
            "accept_p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
            "delivered_per_s": round(count / (wall + drain), 1),
            "seconds_to_all_delivered": round(wall + drain, 2),
        }

    async def _interactive(self, outbox: Outbox, policy: Any) -> dict[str, float]:
        system = workorder_system(self.settings)
        relay = OutboxRelay(outbox, system)
        desk = WorkOrderDesk(outbox, system, relay, policy, submit_wait_s=2.0)
        count = self.config.interactive
        try:
            wall, latencies, results = await _submit_all(
                count, 4, lambda i: desk.submit(_request("交互", i))
            )
        finally:
            await system.aclose()
        with_number = sum(1 for acceptance in results if acceptance.order_no)
        return {
            "requests": count,
            "concurrency": 4,
            "per_s": round(count / wall, 1),
            "order_number_at_once": with_number,
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        }

    async def _outage(self, outbox: Outbox, policy: Any) -> dict[str, float]:
        self.service.stop()
        down_at = time.perf_counter()
        interval = 1.0 / self.config.outage_rate
        latencies: list[float] = []
        i = 0
        while time.perf_counter() - down_at < self.config.outage_s:
            started = time.perf_counter()
            await outbox.submit(self._new_entry(policy, _request("停机", i)), 86400)
            latencies.append(time.perf_counter() - started)
            i += 1
            await asyncio.sleep(max(0.0, down_at + i * interval - time.perf_counter()))
        accepted = i
        pending = (await outbox.counts())["pending"]
        self.service.start()
        _wait_ready(f"{self.settings.workorder_url}/readyz")
        up_at = time.perf_counter()
        first_delivery: float | None = None
        while True:
            left = (await outbox.counts())["pending"]
            now = time.perf_counter()
            if first_delivery is None and left < pending:
                first_delivery = now - up_at
            if left == 0:
                break
            if now - up_at > 600:
                raise RuntimeError("backlog not delivered within 10 minutes")
            await asyncio.sleep(0.02)
        drained = time.perf_counter() - up_at
        return {
            "outage_s": round(up_at - down_at, 1),
            "accepted_during_outage": accepted,
            "accept_p95_ms_during_outage": round(percentile(latencies, 0.95) * 1000, 2),
            "first_delivery_after_recovery_s": round(first_delivery or drained, 2),
            "all_delivered_after_recovery_s": round(drained, 2),
            "backlog_delivered_per_s": round(pending / drained, 1) if drained else 0.0,
        }

    async def _check_exactly_once(self, outbox: Outbox) -> dict[str, int | bool]:
        counts = await outbox.counts()
        engine = open_engine(
            self.settings.workorder_database_url or self.settings.database_url,
            self.settings.var_dir / "workorders.db",
        )
        try:
            async with engine.connect() as conn:
                total = (await conn.execute(select(func.count()).select_from(orders))).scalar_one()
                distinct = (
                    await conn.execute(select(func.count(func.distinct(orders.c.acceptance_no))))
                ).scalar_one()
        finally:
            await engine.dispose()
        return {
            "accepted": counts["delivered"] + counts["pending"] + counts["rejected"],
            "delivered": counts["delivered"],
            "orders_in_service": int(total),
            "distinct_acceptance_numbers": int(distinct),
            "exactly_once": counts["delivered"] == total == distinct and not counts["pending"],
        }


def format_report(figures: dict[str, Any]) -> str:
    t, x, o, e = (figures[k] for k in ("throughput", "interactive", "outage", "exactly_once"))
    return "\n".join(
        [
            f"work-order outbox benchmark — backend: {figures['backend']}",
            f"  throughput ({t['orders']} orders, {t['concurrency']} submitters): "
            f"{t['accepted_per_s']} accepted/s (p50 {t['accept_p50_ms']} ms, "
            f"p95 {t['accept_p95_ms']} ms), {t['delivered_per_s']} orders/s delivered end to end",
            f"  interactive ({x['requests']} requests): {x['per_s']}/s, p50 {x['p50_ms']} ms, "
            f"p95 {x['p95_ms']} ms, order number at once for {x['order_number_at_once']}",
            f"  outage of {o['outage_s']} s: {o['accepted_during_outage']} requests accepted "
            f"(p95 {o['accept_p95_ms_during_outage']} ms); after recovery first order in "
            f"{o['first_delivery_after_recovery_s']} s, all in {o['all_delivered_after_recovery_s']} s "
            f"({o['backlog_delivered_per_s']} orders/s)",
            f"  exactly once: {e['exactly_once']} ({e['orders_in_service']} orders for "
            f"{e['accepted']} accepted requests)",
        ]
    )


def main(args: argparse.Namespace) -> int:
    config = BenchConfig(
        backend=args.backend,
        orders=args.orders,
        concurrency=args.concurrency,
        interactive=args.interactive,
        outage_s=args.outage,
        outage_rate=args.outage_rate,
        database_url=os.environ.get("TEST_DATABASE_URL", BenchConfig.database_url),
        redis_url=os.environ.get("TEST_REDIS_URL", BenchConfig.redis_url),
    )
    figures = asyncio.run(Bench(config).run())
    print(format_report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0 if figures["exactly_once"]["exactly_once"] else 1
