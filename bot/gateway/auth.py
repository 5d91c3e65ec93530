"""Login, sessions, CSRF protection, role checks and the audit log for the web consoles.

The API for console handlers (the supervisor console and the agent workspace)::

    from bot.gateway.auth import audit, csrf_token, current_user, require_role
    from bot.accounts import Permission, Role

    @require_role(Role.SUPERVISOR, Role.ADMIN)          # no roles given: any logged-in user
    async def page(request: web.Request) -> web.StreamResponse:
        user = current_user(request)                     # bot.accounts.User
        await audit(request, "conversation.view", conversation_id, {"unmasked": False})
        ...

    @require_permission(Permission.UNMASK_PERSONAL_DATA)  # role or granted permission
    async def unmask(request): ...

    ctx = await authenticate(request)   # AuthContext | None, for code that must not redirect
    has_permission(request, Permission.EXPORT_DATA)     # inside a guarded handler
    csrf_token(request)                                 # for templates / JSON clients
    return redirect("/console/")                        # 303 after a form POST

Pages: ``bot.gateway.pages.render(template, context)`` (autoescaped Jinja2 from
``bot/gateway/templates``, CSP and no-store headers); templates may extend ``base.html``.
Roles and permissions: ``bot.accounts.roles`` (agent < supervisor < admin; extra
permissions per user, e.g. ``unmask_personal_data``). Users: ``python -m bot users add NAME
--role supervisor`` (password from ``HOTLINE_USER_PASSWORD`` or stdin, never argv).

- ``require_role`` / ``require_permission`` load the session from the cookie, check the
  user is still active, and for unsafe methods (POST, PUT, PATCH, DELETE) check the CSRF
  token: header ``X-CSRF-Token`` (JavaScript, read it from ``<meta name="csrf-token">`` or
  from ``GET /api/v1/auth/session``) or form field ``_csrf`` (HTML forms; templates get
  ``csrf_token``). A cross-origin ``Origin`` header is refused on unsafe methods and on
  WebSocket upgrades. Not logged in: browsers asking for HTML are redirected to
  ``/login?next=…``, everything else gets JSON 401; wrong role: 403.
- Routes (``bot.gateway.routes``): ``GET/POST /login`` (form, login-CSRF by double-submit
  cookie), ``POST /logout``; JSON: ``POST /api/v1/auth/login`` ``{"username", "password"}``
  → ``{"user", "csrf_token"}``, ``GET /api/v1/auth/session``, ``POST /api/v1/auth/logout``.
  After a form login the browser goes to ``next`` or to ``ROLE_HOME[role]``; after a form
  logout to ``/login?logged_out=1`` (已退出登录).
- A refused login reads the same for a wrong password, an unknown and a locked account
  (401 ``login_failed``); more than ``LOGIN_ATTEMPTS_PER_ADDRESS`` attempts from one client
  address (``bot.gateway.clients``) in 15 minutes get 429 ``too_many_attempts``.
- Cookie ``hotline_session`` (``__Host-hotline_session`` over https): HttpOnly,
  SameSite=Strict, Secure when ``PUBLIC_URL`` is https. The server keeps the session
  (SQL table ``console_session``, or Redis when ``REDIS_URL`` is set).
- The wiring (``bot.gateway.app``) puts ``Accounts`` on ``app[keys.ACCOUNTS]`` and creates
  the bootstrap ``admin`` from ``HOTLINE_ADMIN_PASSWORD`` when set and absent.
"""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import hdrs, web

from bot.accounts import Permission, Role, Session, User
from bot.gateway import keys
from bot.gateway.clients import client_address
from bot.gateway.pages import SECURITY_HEADERS, render
from bot.gateway.responses import json_error, json_ok, read_json

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "_csrf"
LOGIN_CSRF_COOKIE = "hotline_login_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLE_HOME = {
    Role.AGENT: "/agent/",
    Role.SUPERVISOR: "/console/",
    Role.ADMIN: "/console/",
    Role.EDITOR: "/console/knowledge",
    Role.REVIEWER: "/console/knowledge",
}

# One answer for a wrong password, an unknown and a locked account: a different one would
# tell a guesser which accounts exist and when a lock starts.
_BAD_LOGIN = "用户名或密码不正确。多次输入错误后账号会暂时锁定，如仍无法登录，请联系管理员。"
_FORBIDDEN = "您的账号没有访问此页面的权限。"
_TOO_MANY_ATTEMPTS = "登录尝试过于频繁，请 15 分钟后再试。"
_LOGGED_OUT = "已退出登录。"


@dataclass(frozen=True)
class AuthContext:
    user: User
    session: Session


AUTH = web.RequestKey("auth", AuthContext)


# ---- helpers for handlers -------------------------------------------------------------


def cookie_name(settings_public_url: str | None) -> str:
    return "__Host-hotline_session" if _is_https(settings_public_url) else "hotline_session"


def _is_https(public_url: str | None) -> bool:
    return bool(public_url and public_url.lower().startswith("https://"))


def current_user(request: web.Request) -> User:
    """The logged-in user; only valid inside a handler wrapped by ``require_*``."""
    return request[AUTH].user


def csrf_token(request: web.Request) -> str:
    return request[AUTH].session.csrf_token


def has_permission(request: web.Request, permission: Permission) -> bool:
    return current_user(request).can(permission)


async def audit(
    request: web.Request, action: str, target: str = "", detail: dict[str, Any] | None = None
) -> None:
    """Appends to the audit log as the current user (or anonymously outside a session)."""
    ctx = request.get(AUTH)
    await request.app[keys.ACCOUNTS].audit.record(
        action,
        target,
        user_id=ctx.user.id if ctx else None,
        username=ctx.user.username if ctx else "",
        detail=detail,
        ip=client_address(request),
    )


async def authenticate(request: web.Request) -> AuthContext | None:
    """The session and user behind the request's cookie, or None; sets ``request[AUTH]``."""
    if AUTH in request:
        return request[AUTH]
    accounts = request.app[keys.ACCOUNTS]
    token = request.cookies.get(cookie_name(request.app[keys.SETTINGS].public_url))
    if not token:
        return None
    session = await accounts.sessions.get(token)
    if session is None:
        return None
    user = await accounts.users.get(session.user_id)
    if user is None or not user.active:
        await accounts.sessions.delete(token)
        return None
    ctx = AuthContext(user, session)
    request[AUTH] = ctx
    return ctx


def require_role(*roles: Role) -> Callable[[Handler], Handler]:
    """Allows logged-in users with one of ``roles`` (any role when none is given)."""
    allowed = frozenset(roles)
    return _guard(lambda user: not allowed or user.role in allowed)


def require_permission(
    *permissions: Permission, refusal: str = _FORBIDDEN
) -> Callable[[Handler], Handler]:
    """Allows logged-in users holding every one of ``permissions``; ``refusal`` tells the
    others why, where a plain "no" would leave them guessing."""
    return _guard(lambda user: all(user.can(p) for p in permissions), refusal)


def _guard(
    allowed: Callable[[User], bool], refusal: str = _FORBIDDEN
) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if not _same_origin(request):
                return _refuse(request, 403, "cross_origin", "请求来源不被允许。")
            ctx = await authenticate(request)
            if ctx is None:
                if _wants_html(request):
                    return redirect(f"/login?next={quote(request.path_qs, safe='/')}")
                return json_error(401, "请先登录。", "unauthenticated")
            if not allowed(ctx.user):
                return _refuse(request, 403, "forbidden", refusal)
            if request.method in UNSAFE_METHODS and not await _csrf_ok(request, ctx.session):
                return _refuse(request, 403, "csrf_failed", "页面已过期，请刷新页面后重试。")
            return await handler(request)

        return wrapper

    return decorator


def redirect(location: str) -> web.Response:
    """A 303 See Other (after a form POST the browser follows with GET)."""
    return web.Response(status=303, headers={hdrs.LOCATION: location, "Cache-Control": "no-store"})


def _wants_html(request: web.Request) -> bool:
    return (
        request.method == "GET"
        and not request.path.startswith("/api/")
        and "text/html" in request.headers.get(hdrs.ACCEPT, "")
    )


def _refuse(request: web.Request, status: int, code: str, message: str) -> web.Response:
    if "text/html" in request.headers.get(hdrs.ACCEPT, "") and not request.path.startswith("/api/"):
        return render("error.html", {"message": message, "status": status}, status=status)
    return json_error(status, message, code)


def _expected_origin(request: web.Request) -> str:
    public_url = request.app[keys.SETTINGS].public_url
    if public_url:
        parts = urlsplit(public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()
    return f"{request.scheme}://{request.host}".lower()


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get(hdrs.ORIGIN)
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
    if origin is None or (request.method not in UNSAFE_METHODS and not upgrade):
        return True
    return origin.lower() == _expected_origin(request)


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        field = (await request.post()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    return sent is not None and hmac.compare_digest(sent, session.csrf_token)


def _safe_next(target: str | None, user: User) -> str:
    """Only same-site paths: ``/console/…`` yes, ``//evil.example`` or ``https://…`` no."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return ROLE_HOME[user.role]


def _set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[keys.SETTINGS]
    response.set_cookie(
        cookie_name(settings.public_url),
        token,
        max_age=settings.session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=_is_https(settings.public_url),
    )


def _clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[keys.SETTINGS]
    response.del_cookie(
        cookie_name(settings.public_url),
        path="/",
        secure=_is_https(settings.public_url),
        httponly=True,
        samesite="Strict",
    )


async def _start_session(request: web.Request, user: User) -> tuple[str, Session]:
    accounts = request.app[keys.ACCOUNTS]
    old = request.cookies.get(cookie_name(request.app[keys.SETTINGS].public_url))
    if old:  # never reuse a session id across a login (session fixation)
        await accounts.sessions.delete(old)
    token, session = await accounts.sessions.create(user.id, client_address(request))
    request[AUTH] = AuthContext(user, session)
    await audit(request, "login", user.username)
    return token, session


async def _end_session(request: web.Request) -> None:
    token = request.cookies.get(cookie_name(request.app[keys.SETTINGS].public_url))
    if token:
        await audit(request, "logout", current_user(request).username)
        await request.app[keys.ACCOUNTS].sessions.delete(token)


@dataclass(frozen=True)
class _Refusal:
    status: int
    message: str
    code: str


async def _check_password(request: web.Request, username: str, password: str) -> User | _Refusal:
    """The user, or why the login failed. Attempts are limited per client address too, so
    that one client cannot try a password against many accounts."""
    accounts = request.app[keys.ACCOUNTS]
    address = client_address(request)
    if not await request.app[keys.LOGIN_LIMITER].allow(f"login:{address}"):
        logger.warning("login attempts from one address over the limit refused")
        return _Refusal(429, _TOO_MANY_ATTEMPTS, "too_many_attempts")
    result = await accounts.users.authenticate(username, password)
    if result.user is None:
        await accounts.audit.record(
            "login_failed",
            username[:64],
            username="",
            detail={"locked": result.locked},
            ip=address,
        )
        return _Refusal(401, _BAD_LOGIN, "login_failed")
    return result.user


# ---- routes ---------------------------------------------------------------------------


def _login_response(
    request: web.Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    status: int = 200,
) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(
        "login.html",
        {
            "csrf_token": token,
            "error": error,
            "notice": notice,
            "username": username,
            "next": request.query.get("next", ""),
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/login",
        httponly=True,
        samesite="Strict",
        secure=_is_https(request.app[keys.SETTINGS].public_url),
    )
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    ctx = await authenticate(request)
    if ctx is not None:
        return redirect(_safe_next(request.query.get("next"), ctx.user))
    notice = _LOGGED_OUT if "logged_out" in request.query else None
    return _login_response(request, notice=notice)


async def login_form(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", ""))
    sent = str(form.get(CSRF_FIELD, ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not _same_origin(request) or not expected or not hmac.compare_digest(sent, expected):
        return _login_response(
            request, error="登录页面已过期，请重新输入。", username=username, status=403
        )
    outcome = await _check_password(request, username, str(form.get("password", "")))
    if isinstance(outcome, _Refusal):
        return _login_response(
            request, error=outcome.message, username=username, status=outcome.status
        )
    token, _ = await _start_session(request, outcome)
    response = redirect(_safe_next(str(form.get("next", "")), outcome))
    _set_session_cookie(request, response, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@require_role()
async def logout_form(request: web.Request) -> web.StreamResponse:
    await _end_session(request)
    response = redirect("/login?logged_out=1")
    _clear_session_cookie(request, response)
    return response


async def login_json(request: web.Request) -> web.StreamResponse:
    # A cross-site page cannot send application/json without a CORS preflight, which this
    # server never grants, so the content type itself protects this endpoint from login CSRF.
    if not _same_origin(request):
        return json_error(403, "请求来源不被允许。", "cross_origin")
    body = await read_json(request)
    if not isinstance(body, dict):
        return json_error(400, "请提供用户名和密码。", "invalid_login")
    outcome = await _check_password(
        request, str(body.get("username", "")), str(body.get("password", ""))
    )
    if isinstance(outcome, _Refusal):
        return json_error(outcome.status, outcome.message, outcome.code)
    token, session = await _start_session(request, outcome)
    response = json_ok({"user": outcome.to_json(), "csrf_token": session.csrf_token})
    _set_session_cookie(request, response, token)
    return response


@require_role()
async def session_json(request: web.Request) -> web.StreamResponse:
    response = json_ok({"user": current_user(request).to_json(), "csrf_token": csrf_token(request)})
    response.headers.update(SECURITY_HEADERS)
    return response


@require_role()
async def logout_json(request: web.Request) -> web.StreamResponse:
    await _end_session(request)
    response = json_ok({"status": "logged_out"})
    _clear_session_cookie(request, response)
    return response


__all__ = [
    "AUTH",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ROLE_HOME",
    "AuthContext",
    "audit",
    "authenticate",
    "cookie_name",
    "csrf_token",
    "current_user",
    "has_permission",
    "redirect",
    "require_permission",
    "require_role",
]
