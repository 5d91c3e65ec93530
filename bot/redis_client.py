"""The one way every process opens Redis: a command that meets a dead pooled connection is
sent again on a fresh one.

redis-py does not retry by default, so after Redis restarts each pooled connection fails
its next command once: the fault drills (``make drill``, "restart redis") saw a citizen's
confirmed complaint fail to reach the work-order outbox six seconds after Redis was back,
and the citizen got no answer. The commands sent through these clients are safe to repeat
(counters of rate limits, the outbox's scripts, which find a repeated submission by its
dedupe key), and a restarted server had not run the command on the connection it closed.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

# Up to about 3 s of retries in all: a short blip is ridden out, an outage still fails
# fast enough for the gateway to answer politely.
RETRIES = 5


def open_redis(url: str) -> Redis:
    return Redis.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), RETRIES),
        retry_on_error=[ConnectionError, TimeoutError],
    )
