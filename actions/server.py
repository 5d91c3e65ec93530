"""The action server's start-up: ``python -m actions.server`` (what ``make run`` starts).

rasa-sdk's own entry point installs its coloured logging and offers no hook where the
process starts; its Sanic workers are separate processes. This entry point serves the same
app, plus a ``before_server_start`` listener that, in each worker, installs the project's
JSON logging and (with ``KB_PRELOAD=1``) starts loading search and the routing classifier,
so the first question and the first request do not wait for them. Loading the classifier
takes longer than a turn may (the first one timed out with "系统正忙"), so ``/ready`` answers
200 only once it is loaded, and the launcher waits for that rather than for ``/health``.
(It loads in a thread: Sanic stops a worker that takes 30 s to start.)
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Request, Sanic
from sanic.response import HTTPResponse, json
from sanic.worker.loader import AppLoader

from actions.runtime import knowledge, settings
from bot.logs import configure_logging
from bot.routing import load_classifier

logger = logging.getLogger(__name__)

_routing_loaded = threading.Event()


def _load_routing() -> None:
    try:
        load_classifier()  # the instance ``classify()`` uses: same (default) settings
    except Exception:
        logger.exception("loading the routing classifier failed; the first request retries")
    finally:
        _routing_loaded.set()


async def _start(app: Sanic[Any, Any], loop: Any) -> None:
    configure_logging("actions", settings().log_level)
    if settings().kb_preload:
        knowledge().preload()
        threading.Thread(target=_load_routing, name="routing-preload", daemon=True).start()
    else:
        _routing_loaded.set()


async def _ready(request: Request) -> HTTPResponse:
    if _routing_loaded.is_set():
        return json({"status": "ok"})
    return json({"status": "loading"}, status=503)


def create_app(executor: ActionExecutor) -> Sanic[Any, Any]:
    """rasa-sdk's app with the project's start-up; module-level, as Sanic pickles it."""
    app: Sanic[Any, Any] = create_app_for_serve(executor)
    app.register_listener(_start, "before_server_start")
    app.add_route(_ready, "/ready", methods=["GET"])
    return app


def main() -> None:
    configure_logging("actions", settings().log_level)
    executor = ActionExecutor()
    executor.register_package("actions")
    loader = AppLoader(factory=partial(create_app, executor))
    app = loader.load()
    app.prepare(
        host=settings().internal_host,
        port=settings().action_port,
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
