"""Simulated citizens for `make loadtest`: locust users that talk to the gateway like people.

Runs in .venv-load (locust, websocket-client), so it imports none of the project's code and
speaks only the public protocols: the web chat's WebSocket (``/ws``, most citizens) and the
JSON REST channel (``/api/v1/messages``). Each user is a seat that one citizen after
another takes: a citizen opens a new conversation, carries one story through with think
time between turns, and leaves. The stories, in a cycle that each seat starts at its own
place: a knowledge question (two standards), a department question, and a complaint taken
through the whole intake dialogue to a work order whose status the citizen then asks for.

Every turn is one locust request, named ``story:step``, timed from sending the message to
the bot's reply. A turn fails when the transport fails, the reply's status is not ``ok``
(the polite "系统正忙" of an unavailable engine, a rate limit, …), or the reply is not
what that step expects; a failed turn ends its conversation, as a confused citizen would.

Environment: LOAD_THINK_S ("min,max" seconds between turns and between citizens, default
"2,5"), LOAD_STORIES (the cycle, default "knowledge,department,complaint"),
LOAD_TURN_TIMEOUT_S (default 60), LOAD_REPORT (a JSON file written at the end: the turn
statistics, the conversations begun and finished per story, the work-order numbers filed).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import gevent
import requests
import websocket
from locust import User, between, events, task
from locust.env import Environment


def _think_range() -> tuple[float, float]:
    low, _, high = os.environ.get("LOAD_THINK_S", "2,5").partition(",")
    return float(low), float(high or low)


THINK_S = _think_range()
TURN_TIMEOUT_S = float(os.environ.get("LOAD_TURN_TIMEOUT_S", "60"))
STORY_CYCLE = tuple(os.environ.get("LOAD_STORIES", "knowledge,department,complaint").split(","))
NUMBER = re.compile(r"(?:GD|SL)\d{13}")


@dataclass(frozen=True)
class Reply:
    status: str
    text: str
    buttons: tuple[str, ...]


class WrongReply(Exception):
    """The bot answered, but not what a citizen at this step needs."""


class TurnFailed(Exception):
    """A turn failed and was reported to locust as such; its conversation ends here."""


def _reply(body: dict[str, Any]) -> Reply:
    messages = body.get("messages") or []
    return Reply(
        status=str(body.get("status", "")),
        text="\n".join(str(m.get("text") or "") for m in messages),
        buttons=tuple(str(b.get("title")) for m in messages for b in m.get("buttons") or []),
    )


class Channel(Protocol):
    def say(self, text: str) -> Reply: ...

    def close(self) -> None: ...


class WebChatChannel:
    """The web page's side of ``/ws``: the session and history frames first, then one bot
    frame per message; work-order notices pushed in between are not a turn's reply."""

    def __init__(self, host: str, conversation_id: str) -> None:
        url = f"{host.replace('http', 'ws', 1)}/ws?conversation_id={conversation_id}"
        self.ws = websocket.create_connection(url, timeout=TURN_TIMEOUT_S)
        try:
            for expected in ("session", "history"):
                if self._frame().get("type") != expected:
                    raise WrongReply(f"the socket did not open with a {expected} frame")
        except BaseException:
            self.ws.close()
            raise

    def _frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.ws.recv())
        return frame

    def say(self, text: str) -> Reply:
        self.ws.send(json.dumps({"type": "message", "text": text}, ensure_ascii=False))
        while True:
            frame = self._frame()
            kind = frame.get("type")
            if kind == "bot" and frame.get("status") != "workorder":
                return _reply(frame)
            if kind == "error":
                raise WrongReply(f"error frame: {frame.get('message')}")
            if kind in ("agent", "handoff"):
                raise WrongReply("the conversation was handed to an agent")

    def close(self) -> None:
        # No waiting for the server's close frame: websocket-client's close() swallows every
        # exception while it waits, gevent's GreenletExit included, so a citizen stopped at
        # that moment went on forever and locust's time limit never ended the run.
        self.ws.close(timeout=0)


class RestChannel:
    """An app's side of the REST channel: one POST per turn, the conversation id also in
    the query, where a load balancer can hash on it."""

    def __init__(self, host: str, conversation_id: str) -> None:
        self.url = f"{host}/api/v1/messages?conversation_id={conversation_id}"
        self.conversation_id = conversation_id
        self.session = requests.Session()

    def say(self, text: str) -> Reply:
        body = {"sender": self.conversation_id, "message": text}
        response = self.session.post(self.url, json=body, timeout=TURN_TIMEOUT_S)
        response.raise_for_status()
        return _reply(response.json())

    def close(self) -> None:
        self.session.close()


Check = Callable[[Reply], bool]


def contains(*words: str) -> Check:
    return lambda reply: all(word in reply.text for word in words)


WELCOME = contains("不客气")


class Conversation:
    """One citizen's conversation: times each turn and reports it to locust."""

    def __init__(self, user: Citizen, story: str, channel: Channel) -> None:
        self.user = user
        self.story = story
        self.channel = channel
        self.turns = 0

    def say(self, step: str, text: str, check: Check) -> Reply:
        if self.turns:
            gevent.sleep(random.uniform(*THINK_S))
        self.turns += 1
        started = time.perf_counter()
        reply: Reply | None = None
        error: Exception | None = None
        try:
            reply = self.channel.say(text)
            if reply.status != "ok":
                error = WrongReply(f"status {reply.status}: {reply.text[:60]}")
            elif not check(reply):
                error = WrongReply(f"unexpected reply: {reply.text[:60]}")
        except Exception as exc:  # the transport's errors are this turn's failure
            error = exc
        self.user.environment.events.request.fire(
            request_type=self.user.channel_name,
            name=f"{self.story}:{step}",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=len(reply.text) if reply else 0,
            exception=error,
            context={},
        )
        if error is not None or reply is None:
            raise TurnFailed(step) from error
        return reply


def greet(chat: Conversation) -> None:
    chat.say("greeting", random.choice(("你好", "您好", "在吗")), contains("12345"))


def knowledge_story(chat: Conversation) -> None:
    greet(chat)
    chat.say("ebike-standard", "电动自行车的安全技术规范国家标准是哪个", contains("17761"))
    chat.say("standard-number", "GB/T 33358-2016是什么标准", contains("33358"))
    chat.say("thanks", "好的，谢谢", WELCOME)


def department_story(chat: Conversation) -> None:
    greet(chat)
    chat.say(
        "department",
        "小区楼下烧烤油烟太大晚上睡不着，归哪个部门管",
        contains("城市管理局"),
    )
    chat.say("thanks", "明白了，谢谢", WELCOME)


COMPLAINTS = (
    ("我要投诉，{place}附近的烧烤店油烟太大，天天熏得没法开窗", "历下区泉城路{n}号"),
    ("我要投诉，{place}有个工地每天晚上十一点以后还在施工，吵得睡不着", "槐荫区经十路{n}号"),
    ("投诉一下，{place}门口的饭店把桌子摆到人行道上，行人只能走机动车道", "市中区英雄山路{n}号"),
)
# What the citizen answers to each question of the intake (a cue of the prompt, the step's
# name, the answer); the order decides when a reply holds two cues.
INTAKE_ANSWERS: tuple[tuple[Callable[[Reply], bool], str, Callable[[Citizen], str]], ...] = (
    (lambda r: bool(r.buttons) and r.buttons[0] == "确认提交", "confirm", lambda c: "确认提交"),
    (lambda r: "投诉" in r.buttons and "表扬" in r.buttons, "type", lambda c: "投诉"),
    (contains("联系电话"), "phone", lambda c: c.phone),
    (contains("怎么称呼"), "name", lambda c: "跳过"),
    (contains("是否同意承办单位"), "consent", lambda c: "同意"),
    (contains("是否需要对您的个人信息保密"), "confidential", lambda c: "不需要保密"),
    (contains("具体地点"), "place", lambda c: c.place),
)
INTAKE_MAX_TURNS = 10


def _intake_answer(reply: Reply) -> bool:
    return any(cue(reply) for cue, _, _ in INTAKE_ANSWERS)


def complaint_story(chat: Conversation) -> None:
    citizen = chat.user
    greet(chat)
    template, place = random.choice(COMPLAINTS)
    citizen.place = place.format(n=random.randint(1, 300))
    reply = chat.say("report", template.format(place=citizen.place), _intake_answer)
    for _ in range(INTAKE_MAX_TURNS):
        _, step, answer = next(entry for entry in INTAKE_ANSWERS if entry[0](reply))
        if step == "confirm":
            reply = chat.say(step, answer(citizen), lambda r: NUMBER.search(r.text) is not None)
            break
        reply = chat.say(step, answer(citizen), _intake_answer)
    else:
        raise WrongReply("the intake never reached its confirmation")
    found = NUMBER.search(reply.text)
    assert found is not None
    number = found.group(0)
    REPORT.work_orders.append(number)
    # An SL number delivered meanwhile is answered with its GD order's status.
    chat.say("status", f"查一下{number}的进度", lambda r: number in r.text or "当前状态" in r.text)
    chat.say("thanks", "好的，谢谢", WELCOME)


STORIES: dict[str, Callable[[Conversation], None]] = {
    "knowledge": knowledge_story,
    "department": department_story,
    "complaint": complaint_story,
}


class Report:
    """What `make loadtest` and its test read: whole conversations, and locust's statistics
    of all turns as the run ends (its CSV files are snapshots taken once a second, which
    miss the last turns, above all those finished during ``--stop-timeout``)."""

    def __init__(self) -> None:
        self.begun: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self.work_orders: list[str] = []

    def write(self, path: str, environment: Environment) -> None:
        total = environment.stats.total
        errors = Counter[str]()
        for error in environment.stats.errors.values():
            errors[f"{error.name}: {error.parse_error(error.error)}"] += error.occurrences
        runner = environment.runner
        for row in (runner.exceptions if runner else {}).values():
            errors[f"locustfile error: {row['msg']}"] += row["count"]
        data = {
            "turns": total.num_requests,
            "failures": total.num_failures,
            **{
                f"p{round(share * 100)}_ms": total.get_response_time_percentile(share)
                for share in (0.5, 0.95, 0.99)
            },
            "turns_per_s": total.total_rps,
            "errors": dict(errors),
            "begun": dict(self.begun),
            "finished": dict(self.finished),
            "work_orders": self.work_orders,
        }
        with open(path, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False, indent=2)


REPORT = Report()
_SEATS = itertools.count()


@events.quitting.add_listener
def _write_report(environment: Environment, **_: Any) -> None:
    path = os.environ.get("LOAD_REPORT")
    if path:
        REPORT.write(path, environment)


class Citizen(User):
    """A seat taken by one citizen after another; subclasses choose the channel."""

    abstract = True
    wait_time = between(*THINK_S)
    channel_name = ""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        offset = next(_SEATS)
        self.stories: Iterator[str] = itertools.islice(
            itertools.cycle(STORY_CYCLE), offset % len(STORY_CYCLE), None
        )
        self.phone = ""
        self.place = ""

    def open_channel(self, conversation_id: str) -> Channel:
        raise NotImplementedError

    @task
    def converse(self) -> None:
        story = next(self.stories)
        # A test number of its own for every citizen (139 plus eight random digits).
        self.phone = f"139{random.randint(0, 99_999_999):08d}"
        conversation_id = f"load-{uuid.uuid4().hex[:16]}"
        REPORT.begun[story] += 1
        started = time.perf_counter()
        try:
            channel = self.open_channel(conversation_id)
        except Exception as exc:  # cannot even open the chat: the first turn fails
            self.environment.events.request.fire(
                request_type=self.channel_name,
                name=f"{story}:greeting",
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=exc,
                context={},
            )
            return
        try:
            STORIES[story](Conversation(self, story, channel))
            REPORT.finished[story] += 1
        except TurnFailed:
            pass  # already counted as a failed turn; anything else is a bug locust logs
        finally:
            channel.close()


class WebChatCitizen(Citizen):
    weight = 3
    channel_name = "WS"

    def open_channel(self, conversation_id: str) -> Channel:
        return WebChatChannel(self.host, conversation_id)


class RestCitizen(Citizen):
    weight = 1
    channel_name = "REST"

    def open_channel(self, conversation_id: str) -> Channel:
        return RestChannel(self.host, conversation_id)
