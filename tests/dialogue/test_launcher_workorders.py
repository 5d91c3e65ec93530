"""`make run` and the end-to-end tests start the reference work-order service too, with
secrets of their own and its webhooks pointed at the gateway."""

from __future__ import annotations

from pathlib import Path

from bot.launcher import Stack, prepare_settings
from bot.settings import Settings


def test_each_run_gets_its_own_work_order_secrets_and_webhook(settings: Settings) -> None:
    first = prepare_settings(settings)
    second = prepare_settings(settings)
    for name in ("workorder_api_token", "workorder_token_secret", "workorder_webhook_secret"):
        assert getattr(first, name) and getattr(first, name) != getattr(second, name)
    assert first.workorder_webhook_url == (
        f"http://127.0.0.1:{settings.gateway_port}/webhooks/workorders"
    )


def test_configured_secrets_and_webhook_are_kept(settings: Settings) -> None:
    configured = settings.with_overrides(
        workorder_api_token="api-token",
        workorder_webhook_secret="hook-secret",
        workorder_webhook_url="https://gateway.example/webhooks/workorders",
    )
    prepared = prepare_settings(configured)
    assert prepared.workorder_api_token == "api-token"
    assert prepared.workorder_webhook_secret == "hook-secret"
    assert prepared.workorder_webhook_url == "https://gateway.example/webhooks/workorders"


def test_the_reference_service_is_started_and_must_become_ready(settings: Settings) -> None:
    port_settings = settings.with_overrides(
        workorder_port=18190, workorder_url="http://127.0.0.1:18190"
    )
    processes = Stack(port_settings)._define(Path("model.tar.gz"))
    assert [p.name for p in processes] == ["workorders", "actions", "rasa", "gateway"]
    service = processes[0]
    assert service.command[-2:] == ["bot", "workorder-service"]
    assert service.ready_url == "http://127.0.0.1:18190/readyz"
    assert service.env["WORKORDER_WEBHOOK_SECRET"] == processes[-1].env["WORKORDER_WEBHOOK_SECRET"]


def test_a_deployments_own_work_order_system_is_not_started(settings: Settings) -> None:
    external = settings.with_overrides(workorder_url="https://12345.example.gov.cn/workorders")
    stack = Stack(external)
    assert "workorders" not in [p.name for p in stack._define(Path("model.tar.gz"))]
    assert stack.settings.workorder_webhook_url is None
