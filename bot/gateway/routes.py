"""Every route of the gateway, in one place, grouped by who calls it. URLs never move."""

from __future__ import annotations

from aiohttp import web

from bot.gateway import auth, health
from bot.gateway.channels import rest, webchat, wechat, workorder_notices
from bot.gateway.console import (
    audit,
    conversations,
    corrections,
    knowledge,
    knowledge_flags,
    knowledge_imports,
    metrics,
    privacy,
)
from bot.gateway.handoff import assist_api, calls, workspace
from bot.gateway.pages import STATIC_DIR
from bot.settings import Settings


def setup_routes(app: web.Application, settings: Settings) -> None:
    r = app.router
    r.add_get("/healthz", health.liveness)
    r.add_get("/readyz", health.readiness)
    r.add_static("/static/", STATIC_DIR, append_version=True)
    _citizens(r, settings)
    r.add_post(workorder_notices.WEBHOOK_PATH, workorder_notices.receive)  # the 工单 platform
    _logins(r)
    _agents(r)
    _supervisors(r)


def _citizens(r: web.UrlDispatcher, settings: Settings) -> None:
    r.add_get("/", webchat.index)
    r.add_get("/ws", webchat.websocket)
    r.add_post("/api/v1/messages", rest.post_message)
    r.add_post("/api/v1/knowledge/flags", knowledge_flags.citizen_flag)
    if settings.wechat_token:  # the channel exists only when WeChat is configured
        r.add_get(wechat.WECHAT_PATH, wechat.verify_url)
        r.add_post(wechat.WECHAT_PATH, wechat.receive)


def _logins(r: web.UrlDispatcher) -> None:
    r.add_get("/login", auth.login_page)
    r.add_post("/login", auth.login_form)
    r.add_post("/logout", auth.logout_form)
    r.add_post("/api/v1/auth/login", auth.login_json)
    r.add_get("/api/v1/auth/session", auth.session_json)
    r.add_post("/api/v1/auth/logout", auth.logout_json)


def _agents(r: web.UrlDispatcher) -> None:
    r.add_get("/agent/", workspace.page)
    r.add_get("/agent/ws", workspace.live)
    r.add_get("/api/v1/agent/state", workspace.state)
    r.add_post("/api/v1/agent/duty", workspace.duty)
    base = "/api/v1/agent/conversations/{conversation_id}"
    r.add_get(base, workspace.conversation)
    r.add_post(base + "/claim", workspace.claim)
    r.add_post(base + "/messages", workspace.send_message)
    r.add_post(base + "/transfer", workspace.transfer)
    r.add_post(base + "/handback", workspace.hand_back)
    r.add_post(base + "/close", workspace.close)
    r.add_post(base + "/assist", workspace.assist)
    r.add_post(base + "/workorder", workspace.submit_work_order)
    r.add_post("/api/v1/agent/notes/{note_id}/reply", workspace.reply_note)
    r.add_post("/api/v1/agent/knowledge-flags", knowledge_flags.agent_flag)
    r.add_post("/api/v1/agent/calls", calls.start_call)
    r.add_post("/api/v1/agent/calls/{call_id}/segments", calls.call_segment)
    r.add_post("/api/v1/agent/calls/{call_id}/end", calls.end_call)
    r.add_post("/api/v1/asr/calls", calls.asr_start_call)
    r.add_post("/api/v1/asr/calls/{call_id}/segments", calls.asr_segment)
    r.add_post("/api/v1/asr/calls/{call_id}/end", calls.asr_end_call)
    r.add_post("/api/v1/assist/suggest", assist_api.suggest)  # bearer token, for agent desktops


def _supervisors(r: web.UrlDispatcher) -> None:
    r.add_get("/console", knowledge.console_home)
    r.add_get("/console/", knowledge.console_home)
    r.add_get("/console/conversations", conversations.conversations_page)
    r.add_get("/console/conversations.csv", conversations.conversations_csv)
    seq = r"/console/conversations/{seq:\d+}"
    r.add_get(seq, conversations.conversation_page)
    r.add_get(seq + ".csv", conversations.conversation_csv)
    r.add_post(seq + "/tags", conversations.add_tag)
    r.add_post(seq + "/tags/delete", conversations.remove_tag)
    r.add_post(seq + "/notes", conversations.add_note)
    r.add_post(seq + "/review", conversations.set_review)
    r.add_post(r"/console/messages/{tid:\d+}/correction", corrections.correct_message)
    r.add_post(r"/console/messages/{tid:\d+}/correction/delete", corrections.remove_correction)
    r.add_post(r"/console/messages/{tid:\d+}/routing-correction", corrections.correct_routing)
    r.add_get("/console/corrections", corrections.corrections_page)
    r.add_get("/console/corrections.yml", corrections.corrections_yaml)
    r.add_get("/console/corrections.csv", corrections.corrections_csv)
    r.add_post("/console/corrections/mark-exported", corrections.corrections_mark_exported)
    r.add_get("/console/metrics", metrics.metrics_page)
    r.add_get(r"/console/metrics/{key:[a-z_]+}.csv", metrics.metrics_csv)
    r.add_get("/console/privacy", privacy.privacy_page)
    r.add_post("/console/privacy/search", privacy.privacy_search)
    r.add_post("/console/privacy/delete", privacy.privacy_delete)
    r.add_post("/console/privacy/retention", privacy.retention_now)
    r.add_get("/console/audit", audit.audit_page)
    r.add_get("/console/audit.csv", audit.audit_csv)
    _knowledge_console(r)


def _knowledge_console(r: web.UrlDispatcher) -> None:
    r.add_get("/console/knowledge", knowledge.knowledge_page)
    r.add_get("/console/knowledge/new", knowledge.new_record_page)
    r.add_post("/console/knowledge/new", knowledge.create_record)
    r.add_get("/console/knowledge/record", knowledge.record_page)
    r.add_post("/console/knowledge/record/edit", knowledge.edit_record)
    r.add_post(
        "/console/knowledge/record/{step:submit|publish|reject|withdraw|restore}",
        knowledge.record_step,
    )
    r.add_get("/console/knowledge/import", knowledge_imports.import_page)
    r.add_post("/console/knowledge/import", knowledge_imports.upload)
    r.add_get("/console/knowledge/import/{token}", knowledge_imports.dry_run_page)
    r.add_post("/console/knowledge/import/{token}/confirm", knowledge_imports.confirm)
    r.add_get("/console/knowledge/flags", knowledge_flags.flags_page)
    r.add_post(r"/console/knowledge/flags/{flag_id:\d+}/resolve", knowledge_flags.resolve_flag)
