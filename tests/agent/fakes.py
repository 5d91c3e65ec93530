"""A small local fake of the Rasa server, for the agent-workspace tests.

It speaks the two Rasa protocols the gateway uses: the project's ``hotline`` channel
(``POST /webhooks/hotline/webhook`` → ``{"messages", "nlu", "actions"}``) and Rasa's HTTP
API for tracker events (``POST /conversations/{id}/tracker/events?token=…``), and it
behaves like Rasa where the handoff depends on it: a paused tracker gets no prediction.
The real Rasa (trained model, real action server) is exercised by the e2e suite; here the
answers must be deterministic and instant, so a few phrases are understood by rule:

- 转人工 / 人工客服 / ``/ask_human`` → intent ``ask_human``, action ``action_handoff`` and its
  custom payload (``legacy_handoff=True``: the text of ``utter_ask_human`` instead, as the
  domain had it before ``action_handoff``);
- 你好 → ``greet``; 噪音 / 路灯 → a topical answer; 公积金 → a knowledge answer and its
  flaggable mark;
- anything else → ``nlu_fallback`` with ``utter_default``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.handoff.signal import handoff_request
from bot.knowledge.editing.flags import flaggable

HUMAN_WORDS = ("转人工", "人工客服", "/ask_human", "找人工")
GJJ_ENTRY = "kp:gjj-withdraw"
GJJ_ANSWER = "住房公积金提取需要携带身份证和相关证明材料到公积金中心办理。"
FALLBACK_TEXT = "抱歉，我没有完全理解您的意思。您可以换个说法再说一次，也可以说“转人工”。"


@dataclass
class FakeRasa:
    token: str
    url: str = ""
    legacy_handoff: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # (conversation id, event)
    paused: set[str] = field(default_factory=set)
    fail_events: int = 0  # answer this many tracker-event calls with 500 first

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/hotline/webhook", self._webhook)
        app.router.add_post("/conversations/{conversation_id}/tracker/events", self._event)
        app.router.add_get("/status", self._status)
        return app

    def texts(self, conversation_id: str | None = None) -> list[str]:
        return [
            str(body["message"])
            for body in self.received
            if conversation_id is None or body["sender"] == conversation_id
        ]

    def events_for(self, conversation_id: str) -> list[str]:
        return [event for sender, event in self.events if sender == conversation_id]

    async def _status(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorised"}, status=401)
        return web.json_response({"model_id": "fake", "fingerprint": {}})

    async def _event(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorised"}, status=401)
        if self.fail_events > 0:
            self.fail_events -= 1
            return web.json_response({"error": "temporarily down"}, status=500)
        sender = request.match_info["conversation_id"]
        body = await request.json()
        event = str(body.get("event"))
        self.events.append((sender, event))
        if event == "pause":
            self.paused.add(sender)
        elif event == "resume":
            self.paused.discard(sender)
        return web.json_response({"sender_id": sender, "paused": sender in self.paused})

    async def _webhook(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorised"}, status=401)
        body = await request.json()
        self.received.append(body)
        sender, text = str(body["sender"]), str(body["message"])
        intent, actions, messages = self._understand(text)
        if sender in self.paused:  # Rasa logs the message but predicts nothing
            actions, messages = [], []
        return web.json_response(
            {
                "messages": [{"recipient_id": sender, **m} for m in messages],
                "nlu": {"intent": intent, "confidence": 0.95, "entities": []},
                "actions": actions,
            }
        )

    def _understand(self, text: str) -> tuple[str, list[str], list[dict[str, Any]]]:
        if any(word in text for word in HUMAN_WORDS):
            if self.legacy_handoff:
                return (
                    "ask_human",
                    ["utter_ask_human"],
                    [{"text": "好的。人工服务请直接拨打12345热线电话。"}],
                )
            return "ask_human", ["action_handoff"], [{"custom": handoff_request()}]
        if "你好" in text:
            return "greet", ["utter_greet"], [{"text": "您好！请问有什么可以帮您？"}]
        for topic, answer in (
            ("噪音", "已记录您反映的噪音问题，我们会转交相关部门处理。"),
            ("路灯", "已记录您反映的路灯问题，我们会转交相关部门处理。"),
        ):
            if topic in text:
                return "complain", ["utter_complaint_received"], [{"text": answer}]
        if "公积金" in text:  # an answer from the knowledge base: Rasa sends its mark after it
            messages = [{"text": GJJ_ANSWER}, {"custom": flaggable(GJJ_ENTRY)}]
            return "complain", ["utter_complaint_received"], messages
        return "nlu_fallback", ["utter_default"], [{"text": FALLBACK_TEXT}]
