"""Password hashing with scrypt from the standard library.

scrypt is memory-hard (a GPU farm gains little) and has no 72-byte input limit like
bcrypt. The parameters are stored in each hash, so they can be raised later and old
hashes still verify; ``needs_rehash`` tells the login path to upgrade them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

_N = 2**15
_R = 8
_P = 1
_KEY_BYTES = 32
_MAXMEM = 128 * 1024 * 1024
MIN_PASSWORD_CHARS = 10


class WeakPassword(ValueError):
    """The password is too short to protect an account that can read citizens' data."""


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"密码至少需要 {MIN_PASSWORD_CHARS} 个字符。")
    if len(set(password)) < 4:
        raise WeakPassword("密码过于简单，请混合使用不同的字母、数字或符号。")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=_KEY_BYTES
    )
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(encoded: str) -> bool:
    return not encoded.startswith(f"scrypt${_N}${_R}${_P}$")


@functools.cache
def dummy_hash() -> str:
    """Verified against when a username does not exist, so that a login attempt takes as
    long whether or not the account exists (no user enumeration by timing)."""
    return hash_password(secrets.token_urlsafe(16))
