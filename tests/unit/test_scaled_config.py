"""The scaled deployment's configuration, without starting anything: HAProxy's rendered file
is valid for HAProxy itself, and settings that cannot run replicas are refused clearly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.loadbalancer import Topology, log_records, parse_replicas, render
from bot.scaled import ScaledModeError, ScaledStack
from bot.settings import Settings


def _topology() -> Topology:
    return Topology(
        public_bind="0.0.0.0:8080",
        rasa_bind="10.0.0.9:5005",
        action_bind="10.0.0.9:5055",
        gateways=parse_replicas("gateway", "10.0.0.1:8081, 10.0.0.2:8081"),
        rasa=parse_replicas("rasa", "10.0.0.3:5005,10.0.0.4:5005"),
        actions=parse_replicas("actions", "10.0.0.5:5055"),
    )


def test_the_rendered_configuration_hashes_each_tier_on_the_conversation(tmp_path: Path) -> None:
    text = render(_topology(), tmp_path / "haproxy.sock", 45.0)
    assert "balance url_param conversation_id" in text and "balance url_param sender" in text
    assert "    server gateway-2 10.0.0.2:8081 check" in text
    assert "    server rasa-1 10.0.0.3:5005 check" in text
    assert "timeout server 45s" in text and "$" not in text
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (make setup installs it)")
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    checked = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("addresses", ["10.0.0.1", "10.0.0.1:http", ":8080"])
def test_a_server_address_needs_host_and_port(addresses: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_replicas("gateway", addresses)


def test_request_lines_are_read_and_other_lines_skipped(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    log.write_text(
        "[WARNING]  (1) : Server rasa/rasa-1 is UP\n"
        "frontend=rasa server=rasa/rasa-2 status=200 ms=81 method=POST"
        " path=/webhooks/hotline/webhook conversation=c-1\n"
    )
    assert log_records(log) == [
        {
            "frontend": "rasa",
            "server": "rasa/rasa-2",
            "status": "200",
            "ms": "81",
            "method": "POST",
            "path": "/webhooks/hotline/webhook",
            "conversation": "c-1",
        }
    ]
    assert log_records(tmp_path / "missing.log") == []


def test_replicas_need_postgresql_and_redis(settings: Settings) -> None:
    with pytest.raises(ScaledModeError, match="DATABASE_URL and REDIS_URL"):
        ScaledStack(settings, gateways=2, rasa=2, actions=1)
    with pytest.raises(ScaledModeError, match="REDIS_URL"):
        ScaledStack(settings.with_overrides(database_url="postgresql://db/hotline"), 2, 2, 1)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_overlapping_port_ranges_are_refused(settings: Settings) -> None:
    shared = settings.with_overrides(
        database_url="postgresql://db/hotline", redis_url="redis://cache:6379/0"
    )
    # Rasa's replicas would take 5006 and 5007; the action servers' frontend is 5007.
    with pytest.raises(ScaledModeError, match=r"\[5007\]"):
        ScaledStack(shared.with_overrides(rasa_port=5005, action_port=5007), 1, 2, 1)
    stack = ScaledStack(shared, gateways=3, rasa=2, actions=2)
    assert stack.url == f"http://127.0.0.1:{shared.lb_port}"
    assert stack.settings.rasa_url == f"http://127.0.0.1:{shared.rasa_port}"
