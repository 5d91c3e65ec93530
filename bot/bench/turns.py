"""`make bench` (``python -m bot bench``): turn latency through the gateway versus straight to Rasa, same turns, one run.

Starts its own stack on free ports, then for 1, 10 and 50 concurrent conversations sends
the same Chinese turns once through the gateway's REST channel and once straight to
Rasa's (token-protected) REST channel, and reports p50/p95/p99 and the gateway's overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.bench.common import local_stack_settings, percentile
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

Send = Callable[[aiohttp.ClientSession, str, str], Awaitable[bool]]


async def _run_level(send: Send, concurrency: int, conversations: int) -> tuple[list[float], int]:
    """Latencies of the turns that were answered, and the number that were not."""
    latencies: list[float] = []
    failures = 0
    remaining = iter(range(conversations))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in remaining:
            sender = f"bench-{uuid.uuid4().hex[:10]}"
            for text in TURNS:
                started = time.perf_counter()
                if await send(session, sender, text):
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    nonlocal failures
                    failures += 1

    connector = aiohttp.TCPConnector(limit=concurrency + 5)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return latencies, failures


async def _measure(settings: Settings) -> list[dict[str, Any]]:
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

    await _run_level(via_rasa, 2, 1)  # warm-up: first calls load lazy resources
    await _run_level(via_gateway, 2, 1)
    results = []
    for concurrency, conversations in LEVELS:
        print(f"  {concurrency} concurrent conversation(s)…")
        row: dict[str, Any] = {"concurrency": concurrency}
        for name, send in (("gateway", via_gateway), ("rasa", via_rasa)):
            started = time.perf_counter()
            latencies, failures = await _run_level(send, concurrency, conversations)
            elapsed = time.perf_counter() - started
            row[name] = {
                "turns": len(latencies),
                "unanswered": failures,
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(percentile(latencies, 0.95), 1),
                "p99_ms": round(percentile(latencies, 0.99), 1),
                "turns_per_s": round(len(latencies) / elapsed, 1),
            }
        row["overhead_p50"] = round(row["gateway"]["p50_ms"] / row["rasa"]["p50_ms"], 2)
        results.append(row)
    return results


def main(args: argparse.Namespace) -> int:
    base = Settings.from_env()
    var_dir = base.var_dir / "bench"
    shutil.rmtree(var_dir, ignore_errors=True)
    settings = local_stack_settings(
        base, var_dir, rate_limit_messages=1_000_000, rate_limit_address_messages=1_000_000
    )
    stack = Stack(settings)
    print(f"Starting a stack for the benchmark (logs in {var_dir / 'logs'})…")
    stack.start()
    try:
        results = asyncio.run(_measure(stack.settings))
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
        print(f"     gateway/rasa p50 ratio: {row['overhead_p50']}")
    print(json.dumps(results, ensure_ascii=False))
    return 0
