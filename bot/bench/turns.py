"""`make bench` (``python -m bot bench``): turn latency through the gateway versus straight to Rasa, same turns, one run.

Starts its own stack on free ports, then for 1, 10 and 50 concurrent conversations
(``bench turns --levels 1:30,50:150`` picks others) sends the same Chinese turns through
the gateway's REST channel and straight to Rasa's (token-protected) REST channel, in
alternating waves, and reports p50/p95/p99, the gateway's overhead and the gateway
process's CPU time per turn (what it takes from Rasa on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.bench.common import local_stack_settings, percentile
from bot.knowledge.embedder import batch_embedder
from bot.knowledge.ingest import seed_store
from bot.launcher import Stack
from bot.settings import Settings

TURNS = (
    "你好",
    "我要投诉小区楼下饭店油烟太大",
    "GB/T 33358-2016是什么标准",
    "公积金提取需要什么材料",
    "噪音扰民归哪个部门管",
    "谢谢",
)
# (concurrent conversations, conversations in all). Each conversation is the six TURNS,
# as a citizen's chat is short; long synthetic chats would measure tracker growth instead.
LEVELS = ((1, 30), (10, 60), (50, 150))
Level = tuple[int, int]

Send = Callable[[aiohttp.ClientSession, str, str], Awaitable[bool]]


@dataclass
class PathFigures:
    """One path's turns over a level's waves."""

    latencies: list[float] = field(default_factory=list)
    by_turn: dict[int, list[float]] = field(default_factory=dict)  # TURNS index → latencies
    failures: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0  # the gateway process's CPU time (the gateway path only)

    def summary(self) -> dict[str, Any]:
        turns = len(self.latencies)
        return {
            "turns": turns,
            "unanswered": self.failures,
            "p50_ms": round(statistics.median(self.latencies), 1),
            "p95_ms": round(percentile(self.latencies, 0.95), 1),
            "p99_ms": round(percentile(self.latencies, 0.99), 1),
            "turns_per_s": round(turns / self.elapsed_s, 1),
        }


async def _run_wave(send: Send, concurrency: int, figures: PathFigures, pid: int | None) -> None:
    """``concurrency`` conversations at once, each the six TURNS back to back."""

    async def conversation(session: aiohttp.ClientSession) -> None:
        sender = f"bench-{uuid.uuid4().hex[:10]}"
        for index, text in enumerate(TURNS):
            started = time.perf_counter()
            if await send(session, sender, text):
                latency = (time.perf_counter() - started) * 1000
                figures.latencies.append(latency)
                figures.by_turn.setdefault(index, []).append(latency)
            else:
                figures.failures += 1

    cpu_before = _cpu_s(pid)
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency + 5)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(conversation(session) for _ in range(concurrency)))
    figures.elapsed_s += time.perf_counter() - started
    figures.cpu_s += _cpu_s(pid) - cpu_before


def per_turn_overhead(gateway: PathFigures, rasa: PathFigures) -> dict[str, Any]:
    """What the gateway adds to a turn, compared turn for turn.

    The six TURNS cost Rasa very different times (a greeting ~60 ms, the complaint's
    first step several hundred), so the pooled p50 falls in a gap between them and jumps
    by tens of milliseconds from run to run whatever the gateway does. Comparing each
    turn's median on both paths and summing over the conversation measures the gateway's
    own share: ``overhead_turn_ms`` per turn, ``overhead_share`` of Rasa's time
    (``turn_p50_ms``: each turn's p50 through the gateway and straight to Rasa).
    """
    turns = sorted(set(gateway.by_turn) & set(rasa.by_turn))
    if not turns:
        return {}
    p50 = {
        t: (statistics.median(gateway.by_turn[t]), statistics.median(rasa.by_turn[t]))
        for t in turns
    }
    added = sum(through - straight for through, straight in p50.values())
    rasa_total = sum(straight for _, straight in p50.values())
    return {
        "overhead_turn_ms": round(added / len(turns), 1),
        "overhead_share": round(added / rasa_total, 3),
        "turn_p50_ms": {TURNS[t]: [round(g, 1), round(r, 1)] for t, (g, r) in p50.items()},
    }


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process and its threads (Linux), 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_levels(spec: str | None) -> tuple[Level, ...]:
    """``1:30,50:150`` → ((1, 30), (50, 150)); None → :data:`LEVELS`."""
    if not spec:
        return LEVELS
    levels = []
    for part in spec.split(","):
        concurrency, _, conversations = part.partition(":")
        levels.append((int(concurrency), int(conversations or concurrency)))
    return tuple(levels)


async def _measure(
    settings: Settings, levels: tuple[Level, ...], gateway_pid: int | None
) -> list[dict[str, Any]]:
    gateway = f"{settings.gateway_url}/api/v1/messages"
    rasa = f"{settings.rasa_url}/webhooks/hotline/webhook"
    headers = {"Authorization": f"Bearer {settings.rasa_token}"}

    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout_s + 5)

    async def via_gateway(session: aiohttp.ClientSession, sender: str, text: str) -> bool:
        body = {"sender": sender, "message": text}
        try:
            async with session.post(gateway, json=body, timeout=timeout) as response:
                answer = await response.json()
                return response.status == 200 and answer["status"] in ("ok", "emergency")
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def via_rasa(session: aiohttp.ClientSession, sender: str, text: str) -> bool:
        payload = {"sender": sender, "message": text}
        try:
            async with session.post(
                rasa, json=payload, headers=headers, timeout=timeout
            ) as response:
                await response.read()
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            return False

    await _run_wave(via_rasa, 2, PathFigures(), None)  # warm-up: lazy resources load
    await _run_wave(via_gateway, 2, PathFigures(), None)
    results = []
    for concurrency, conversations in levels:
        print(f"  {concurrency} concurrent conversation(s)…")
        via_gateway_figures, via_rasa_figures = PathFigures(), PathFigures()
        # The two paths take turns, a wave of ``concurrency`` conversations each, so that
        # both meet the same load from whatever else runs on the machine.
        for wave in range(max(1, conversations // concurrency)):
            paths = [
                (via_gateway, via_gateway_figures, gateway_pid),
                (via_rasa, via_rasa_figures, None),
            ]
            for send, figures, pid in paths if wave % 2 == 0 else reversed(paths):
                await _run_wave(send, concurrency, figures, pid)
        row: dict[str, Any] = {
            "concurrency": concurrency,
            "gateway": via_gateway_figures.summary(),
            "rasa": via_rasa_figures.summary(),
        }
        row["overhead_p50"] = round(row["gateway"]["p50_ms"] / row["rasa"]["p50_ms"], 2)
        row["overhead_p50_ms"] = round(row["gateway"]["p50_ms"] - row["rasa"]["p50_ms"], 1)
        row.update(per_turn_overhead(via_gateway_figures, via_rasa_figures))
        if gateway_pid is not None:
            row["gateway_cpu_ms_per_turn"] = round(
                via_gateway_figures.cpu_s * 1000 / max(1, len(via_gateway_figures.latencies)), 1
            )
        results.append(row)
    return results


def main(args: argparse.Namespace) -> int:
    levels = parse_levels(args.levels)
    base = Settings.from_env()
    var_dir = base.var_dir / "bench"
    shutil.rmtree(var_dir, ignore_errors=True)
    settings = local_stack_settings(
        base,
        var_dir,
        rate_limit_messages=1_000_000,
        rate_limit_address_messages=1_000_000,
        kb_preload=False,  # no agent asks the gateway for suggestions here
    )
    # A process that finds the store empty embeds the corpus itself while it serves: the
    # gateway's warm-up once took a core for the first 45 s of the measured turns, which
    # slows the gateway's path more than Rasa's (three processes to schedule, not two).
    print("Importing the knowledge corpus for the benchmark's stack…")
    seed_store(settings, batch_embedder(settings))
    stack = Stack(settings)
    print(f"Starting a stack for the benchmark (logs in {var_dir / 'logs'})…")
    stack.start()
    try:
        gateway = next(p for p in stack.processes if p.name == "gateway").process
        pid = gateway.pid if gateway is not None else None
        results = asyncio.run(_measure(stack.settings, levels, pid))
    finally:
        stack.stop()
    print(
        f"{'conc':>4} {'path':<8} {'turns':>5} {'failed':>6} {'p50':>8} {'p95':>8} {'p99':>8}"
        f" {'turns/s':>8}"
    )
    for row in results:
        for name in ("gateway", "rasa"):
            r = row[name]
            print(
                f"{row['concurrency']:>4} {name:<8} {r['turns']:>5} {r['unanswered']:>6} {r['p50_ms']:>8} "
                f"{r['p95_ms']:>8} {r['p99_ms']:>8} {r['turns_per_s']:>8}"
            )
        print(
            f"     gateway/rasa p50 ratio: {row['overhead_p50']}"
            f" (gateway adds {row['overhead_p50_ms']} ms;"
            f" its CPU per turn: {row.get('gateway_cpu_ms_per_turn', '?')} ms)"
        )
        print(
            f"     turn for turn: the gateway adds {row.get('overhead_turn_ms', '?')} ms,"
            f" {row.get('overhead_share', 0) * 100:.1f} % of Rasa's time"
        )
    print(json.dumps(results, ensure_ascii=False))
    return 0
