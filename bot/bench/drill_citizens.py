"""Simulated citizens for the fault drills: steady multi-turn conversations through the
load balancer, over the web chat's WebSocket and the REST channel.

Each citizen greets, asks a knowledge question and a department question, carries a
complaint through the intake dialogue to a work order, asks for its status and says
thanks. Whatever happens to the processes behind the load balancer, a citizen behaves like
a person at a web page: a message that got no answer (the socket dropped, the request
failed) is sent again once the page reconnects, and a polite "请稍后再试" is answered by
trying again. Everything a citizen sent and got back is logged, so that the drill can
compare the stores with it afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

ORDER_NUMBER = re.compile(r"(?:GD|SL)\d{13}")
# What the gateway says when the dialogue engine failed (bot/conversation/service.py),
# and what an action says when the work-order system cannot be reached right now.
POLITE_FAILURES = ("系统正忙", "请稍后再试")
GREETINGS = ("你好", "您好，请问是12345热线吗", "喂，您好")
KNOWLEDGE = (
    "电动自行车的安全技术规范国家标准是哪个",
    "GB/T 33358-2016是什么标准",
    "公积金提取需要什么材料",
    "居住证怎么办理",
)
DEPARTMENT = ("小区楼下烧烤油烟太大晚上睡不着，归哪个部门管", "噪音扰民归哪个部门管")
STREETS = ("泉城路", "经十路", "和平路", "解放路", "文化东路", "历山路", "山大路", "花园路")
NUISANCES = (
    ("烧烤店", "油烟太大，天天熏得没法开窗"),
    ("KTV", "半夜还在唱歌，吵得睡不着"),
    ("工地", "夜里十二点还在施工，噪音很大"),
    ("饭店", "把污水直接倒进雨水井，臭味很重"),
)
MAX_INTAKE_TURNS = 14
TURN_TIMEOUT_S = 120.0  # a guard against a hung server, far above any answer


@dataclass
class Turn:
    """One message sent; ``answered`` when a reply frame or response came back for it."""

    text: str
    answered: bool = False
    status: str = ""
    messages: list[str] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    latency_s: float = 0.0

    @property
    def reply(self) -> str:
        return "\n".join(self.messages)

    @property
    def failed_politely(self) -> bool:
        return self.answered and (
            self.status in ("engine_unavailable", "empty_reply")
            or not self.reply
            or any(words in self.reply for words in POLITE_FAILURES)
        )

    @property
    def worked(self) -> bool:
        return self.answered and not self.failed_politely


@dataclass
class ConversationLog:
    conversation_id: str
    channel: str  # webchat | rest
    turns: list[Turn] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # acceptance / order numbers told
    submitted: bool = False  # the citizen pressed 确认提交 at least once

    @property
    def recovered(self) -> bool:
        """A conversation whose last message got a real answer (or that had no trouble)."""
        return not self.turns or self.turns[-1].worked


class Stopped(Exception):
    """The drill asked the citizens to stop between turns."""


class Channel:
    """Sends one citizen's messages and waits for the answers, reconnecting as needed."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, log: ConversationLog):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.log = log
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def say(self, text: str) -> Turn:
        turn = Turn(text)
        self.log.turns.append(turn)
        started = time.monotonic()
        try:
            if self.log.channel == "rest":
                await self._post(turn)
            else:
                await self._socket_turn(turn)
        except (
            aiohttp.ClientError,
            aiohttp.WSMessageTypeError,
            ConnectionError,
            TimeoutError,
            ValueError,
        ):
            await self.close()
        turn.latency_s = time.monotonic() - started
        found = ORDER_NUMBER.findall(turn.reply)
        self.log.numbers.extend(n for n in found if n not in self.log.numbers)
        return turn

    async def _post(self, turn: Turn) -> None:
        async with self.session.post(
            f"{self.base_url}/api/v1/messages",
            params={"conversation_id": self.log.conversation_id},
            json={"sender": self.log.conversation_id, "message": turn.text},
            timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT_S),
        ) as response:
            if response.status != 200:
                return
            body = await response.json()
        _read_reply(turn, body)

    async def _socket_turn(self, turn: Turn) -> None:
        ws = await self._socket()
        await ws.send_str(json.dumps({"type": "message", "text": turn.text}, ensure_ascii=False))
        while True:
            frame: dict[str, Any] = json.loads(await ws.receive_str(timeout=TURN_TIMEOUT_S))
            if frame.get("type") == "bot" and frame.get("status") != "workorder":
                _read_reply(turn, frame)
                return

    async def _socket(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is None or self._ws.closed:
            self._ws = await self.session.ws_connect(
                f"{self.base_url}/ws",
                params={"conversation_id": self.log.conversation_id},
                timeout=aiohttp.ClientWSTimeout(ws_close=5),
            )
            for expected in ("session", "history"):
                frame = json.loads(await self._ws.receive_str(timeout=TURN_TIMEOUT_S))
                if frame.get("type") != expected:
                    raise ValueError(f"expected a {expected} frame, got {frame.get('type')}")
        return self._ws

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None


def _read_reply(turn: Turn, body: dict[str, Any]) -> None:
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    turn.answered = True
    turn.status = str(body.get("status", ""))
    turn.messages = [str(m.get("text", "")) for m in messages]
    turn.buttons = [str(b.get("title", "")) for m in messages for b in m.get("buttons") or []]


class Citizen:
    """One simulated citizen; ``serial`` makes the phone number and the complaint unique,
    so that no two citizens' requests are merged or deduplicated into one."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        serial: int,
        channel: str,
        stop: asyncio.Event,
        think_s: tuple[float, float] = (0.2, 0.8),
        prefix: str = "drill",
    ) -> None:
        self.log = ConversationLog(f"{prefix}-{uuid.uuid4().hex[:12]}", channel)
        self.channel = Channel(session, base_url, self.log)
        self.serial = serial
        self.stop = stop
        self.think_s = think_s
        self.random = random.Random(serial)
        self.phone = f"139{serial % 100_000_000:08d}"
        shop, problem = NUISANCES[serial % len(NUISANCES)]
        self.address = f"历下区{STREETS[serial % len(STREETS)]}{100 + serial}号"
        self.matter = f"{self.address}附近的{shop}{problem}，编号{serial}"

    async def say(self, text: str) -> Turn:
        """Sends ``text`` until it gets a real answer, like a person retrying at a page;
        stops between attempts when the drill asks."""
        while True:
            if self.stop.is_set():
                raise Stopped
            turn = await self.channel.say(text)
            if turn.worked:
                await asyncio.sleep(self.random.uniform(*self.think_s))
                return turn
            await asyncio.sleep(self.random.uniform(0.5, 1.5))  # the page reconnecting

    async def converse(self) -> ConversationLog:
        try:
            await self.say(self.random.choice(GREETINGS))
            await self.say(self.random.choice(KNOWLEDGE))
            await self.say(self.random.choice(DEPARTMENT))
            number = await self._complain()
            if number:
                await self.say(f"查一下{number}的进度")
            await self.say("谢谢，再见")
        except Stopped:
            pass
        finally:
            await self.channel.close()
        return self.log

    async def _complain(self) -> str:
        return await self.finish_complaint(await self.fill_in_complaint())

    async def finish_complaint(self, turn: Turn) -> str:
        """From the read-back on: confirms (again, if an answer went astray) until the
        assistant tells the number; "" if it never does."""
        for _ in range(MAX_INTAKE_TURNS):
            found = ORDER_NUMBER.search(turn.reply)
            if self.log.submitted and found:
                return found.group(0)
            turn = await self.say(self._answer(turn))
        return ""

    async def fill_in_complaint(self) -> Turn:
        """The intake dialogue up to the read-back that offers 确认提交, answering whatever
        the assistant asks next."""
        turn = await self.say(f"我要投诉，{self.matter}")
        for _ in range(MAX_INTAKE_TURNS):
            if "确认提交" in turn.buttons:
                break
            turn = await self.say(self._answer(turn))
        return turn

    def _answer(self, turn: Turn) -> str:
        buttons, text = turn.buttons, turn.reply
        if "确认提交" in buttons:
            self.log.submitted = True
            return "确认提交"
        if "投诉" in buttons and "咨询" in buttons:
            return "投诉"
        if buttons == ["跳过"]:
            return "跳过"
        if buttons[:2] == ["同意", "不同意"]:
            return "同意"
        if "保密" in text:
            return "不需要保密"
        if buttons:  # the handling unit: the first proposal
            return buttons[0]
        if "电话" in text:
            return self.phone
        if "地点" in text or "地址" in text:
            return self.address
        return "确认提交" if self.log.submitted else f"我要投诉，{self.matter}"


@dataclass
class Load:
    """Steady load: ``concurrency`` citizens at a time, a new one whenever one finishes,
    half on the web chat and half on REST, until :meth:`finish`."""

    base_url: str
    concurrency: int
    prefix: str = "drill"
    think_s: tuple[float, float] = (0.2, 0.8)
    logs: list[ConversationLog] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        serials = itertools.count(random.randrange(1_000_000))
        self._tasks = [
            asyncio.create_task(self._citizens(serials, slot)) for slot in range(self.concurrency)
        ]

    async def _citizens(self, serials: itertools.count[int], slot: int) -> None:
        assert self._session is not None
        channel = "webchat" if slot % 2 == 0 else "rest"
        while not self._stop.is_set():
            citizen = Citizen(
                self._session,
                self.base_url,
                next(serials),
                channel,
                self._stop,
                self.think_s,
                self.prefix,
            )
            self.logs.append(citizen.log)
            await citizen.converse()

    def answered(self) -> int:
        return sum(turn.worked for log in self.logs for turn in log.turns)

    async def finish(self) -> list[ConversationLog]:
        """Lets every citizen finish the turn in flight, then stops them."""
        self._stop.set()
        await asyncio.gather(*self._tasks)
        if self._session is not None:
            await self._session.close()
        return [log for log in self.logs if log.turns]
