"""``python -m bot wechat-menu``: installs the Official Account's custom menu
(:mod:`bot.wechat.menu`) through the WeChat API client built here. With ``REDIS_URL`` set
the command shares the gateway's access_token instead of fetching a new one, which would
cut the gateway's short.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import aiohttp

from bot.redis_client import open_redis
from bot.settings import Settings
from bot.wechat.menu import MENU, install_menu
from bot.wechat.ports import WeChatApiError
from connectors.wechat.api import (
    AccessTokens,
    MemoryTokenCache,
    TokenCache,
    WeChatApi,
    shared_token_cache,
)


def register_wechat_menu_command(commands: Any) -> None:
    menu = commands.add_parser("wechat-menu", help="create the WeChat Official Account menu")
    menu.add_argument("--show", action="store_true", help="print the menu JSON and exit")
    menu.set_defaults(handler=_wechat_menu)


def _wechat_menu(args: argparse.Namespace) -> int:
    if args.show:
        print(json.dumps(MENU, ensure_ascii=False, indent=2))
        return 0
    settings = Settings.from_env()
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        print("WECHAT_APP_ID and WECHAT_APP_SECRET must be set", file=sys.stderr)
        return 2
    try:
        asyncio.run(install_configured_menu(settings))
    except WeChatApiError as exc:
        print(f"WeChat refused the menu: {exc}", file=sys.stderr)
        return 1
    print("WeChat menu created")
    return 0


async def install_configured_menu(settings: Settings, menu: dict[str, Any] = MENU) -> None:
    """:func:`bot.wechat.menu.install_menu` through the account of ``settings``."""
    redis = open_redis(settings.redis_url) if settings.redis_url else None
    cache: TokenCache = (
        shared_token_cache(redis, settings.wechat_app_id)
        if redis is not None
        else MemoryTokenCache()
    )
    try:
        async with aiohttp.ClientSession() as http:
            tokens = AccessTokens(
                http,
                settings.wechat_api_base,
                settings.wechat_app_id,
                settings.wechat_app_secret,
                cache,
            )
            await install_menu(WeChatApi(http, tokens), menu)
    finally:
        if redis is not None:
            await redis.aclose()
