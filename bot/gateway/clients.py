"""The address a request came from, for rate limits, login limits and the audit log.

Behind a reverse proxy every request's peer is the proxy; the proxy names the client in a
header (``TRUSTED_PROXY_HEADER``). Only the last entry is the proxy's own: anything before
it was sent by the client and may be forged.
"""

from __future__ import annotations

from aiohttp import web

from bot.gateway import keys


def client_address(request: web.Request) -> str:
    header = request.app[keys.SETTINGS].trusted_proxy_header
    if header:
        named = request.headers.get(header, "").rsplit(",", 1)[-1].strip()
        if named:
            return named[:64]
    return request.remote or ""
