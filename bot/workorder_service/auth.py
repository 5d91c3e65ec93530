"""Who is calling: the assistant (client), the hotline centre, or a department.

* ``Authorization: Bearer $WORKORDER_API_TOKEN`` — the assistant acting for citizens:
  create, look up, search by contact, supplement, rate, cancel, merge.
* ``Authorization: Bearer wo1.center..<sig>`` — the 12345 centre: dispatch, 改派, 延期
  approval, 督办, close, and every order in full.
* ``Authorization: Bearer wo1.department.<b64 name>.<sig>`` — one department (承办单位):
  sign, handle, reply, return, ask for an extension, on its own orders only.

Centre and department tokens are HMAC-SHA256 signatures over the role and department
name with ``WORKORDER_TOKEN_SECRET``; issue them with
``python -m bot workorder-token --department 市城市管理局`` (or ``--center``). Rotating
the secret revokes all of them at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from bot.workorders.lifecycle import Actor, Role

VERSION = "wo1"


class Kind(StrEnum):
    CLIENT = "client"
    CENTER = "center"
    DEPARTMENT = "department"


@dataclass(frozen=True)
class Principal:
    kind: Kind
    department: str = ""

    @property
    def actor(self) -> Actor:
        if self.kind is Kind.CENTER:
            return Actor(Role.CENTER)
        if self.kind is Kind.DEPARTMENT:
            return Actor(Role.DEPARTMENT, self.department)
        return Actor(Role.CITIZEN)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue_token(secret: str, kind: Kind, department: str = "") -> str:
    if not secret:
        raise ValueError("WORKORDER_TOKEN_SECRET is not set")
    if kind is Kind.CLIENT:
        raise ValueError("the client uses WORKORDER_API_TOKEN, not an issued token")
    if kind is Kind.DEPARTMENT and not department.strip():
        raise ValueError("a department token needs the department's name")
    payload = f"{VERSION}.{kind.value}.{_b64(department.strip().encode())}"
    return f"{payload}.{_signature(secret, payload)}"


def authenticate(header: str | None, api_token: str, secret: str) -> Principal | None:
    """The caller of a request with this Authorization header, or None."""
    if not header or not header.startswith("Bearer "):
        return None
    token = header[len("Bearer ") :].strip()
    if api_token and hmac.compare_digest(token.encode(), api_token.encode()):
        return Principal(Kind.CLIENT)
    parts = token.split(".")
    if not secret or len(parts) != 4 or parts[0] != VERSION:
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3].encode(), _signature(secret, payload).encode()):
        return None
    try:
        kind = Kind(parts[1])
        department = _unb64(parts[2]).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if kind is Kind.CLIENT or (kind is Kind.DEPARTMENT and not department):
        return None
    return Principal(kind, department)
