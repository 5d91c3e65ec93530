"""HTML pages: the consoles' Jinja2 templates, and the headers every page is sent with.

Every value reaching a template is escaped (autoescape is on for all templates, not only
``.html``), and the Content-Security-Policy forbids inline scripts and any other origin,
so a citizen's message containing markup can neither render nor run. The citizen's web
chat gets the same policy (``PAGE_HEADERS``); console pages may show personal data, so
they are also never cached (``SECURITY_HEADERS``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

SECURITY_HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store"}


@cache
def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>``: browsers refetch exactly when the file changes."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]
    return f"/static/{path}?v={digest}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    return env


def render(template: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    html = environment().get_template(template).render(**context)
    return web.Response(
        text=html,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )
