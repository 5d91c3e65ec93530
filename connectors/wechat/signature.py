"""WeChat's request signatures: SHA-1 over the sorted parts, compared in constant time.

The URL check and every callback carry ``signature = sha1(sort(token, timestamp, nonce))``;
safe mode adds ``msg_signature``, which also covers the encrypted body, because the plain
signature alone does not protect the body of a message from being replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import time

# How far a callback's timestamp may lie from our clock. WeChat retries within seconds; a
# captured signed URL replayed later with a forged plaintext body is refused.
MAX_CLOCK_SKEW_S = 300


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected_parts: tuple[str, ...], supplied: str) -> bool:
    return hmac.compare_digest(sign(*expected_parts).encode(), supplied.strip().lower().encode())


def timestamp_is_fresh(timestamp: str, now: float | None = None) -> bool:
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    return abs(current - sent) <= MAX_CLOCK_SKEW_S
