"""The handoff's hook in the conversation service: the bot never answers over a human.

``open`` reads the conversation's handoff row while the citizen's turn is being committed
(one read per turn; the way out reuses it). ``before_engine`` runs for every citizen turn
after it is on record and checked for an emergency, and before Rasa is asked: while the
conversation waits for or is held by an agent, the turn stops here (the agent sees it live
in the console). It also takes the gateway's own commands (cancel the queue, leave a
message) and the message being left.

``after_engine`` reads Rasa's answer: a request for a human (intent ``ask_human``, the
action ``action_handoff`` or its custom payload) becomes a place in the queue or, outside
service hours or with nobody on duty, the offer of a message or a work order; repeated
misunderstanding makes the bot offer a human. A turn is misunderstood when the citizen got
the "没有完全理解" reply (``utter_default``, or one of Rasa's own fallback actions), not
when the intent was ``nlu_fallback``: most such turns describe a matter that
``action_handle_unclear`` answers or takes up as a work order.
"""

from __future__ import annotations

from dataclasses import replace

from bot.conversation import BotMessage, Button, CitizenTurn, TurnResult, Understanding
from bot.handoff import texts
from bot.handoff.queue import Admission
from bot.handoff.service import HandoffService
from bot.handoff.signal import HANDOFF_ACTION, is_handoff_request
from bot.handoff.states import InvalidTransition, State
from bot.handoff.store import Handoff

HANDOFF_INTENT = "ask_human"
FALLBACK_ACTIONS = frozenset(
    {"utter_default", "action_default_fallback", "action_two_stage_fallback"}
)


def wants_human(result: TurnResult) -> bool:
    understanding = result.understanding or Understanding()
    if understanding.intent == HANDOFF_INTENT or HANDOFF_ACTION in understanding.actions:
        return True
    return any(is_handoff_request(message.custom) for message in result.messages)


def is_fallback(understanding: Understanding | None) -> bool:
    if understanding is None:
        return False
    return any(action in FALLBACK_ACTIONS for action in understanding.actions)


class HandoffGate:
    """Implements :class:`bot.conversation.service.HandoffGate`."""

    def __init__(self, service: HandoffService) -> None:
        self.service = service

    async def open(self, turn: CitizenTurn) -> HandoffTurn:
        return HandoffTurn(self.service, turn, await self.service.get(turn.conversation_id))


class HandoffTurn:
    """One turn through the gate (:class:`bot.conversation.service.TurnGate`), with the
    conversation's handoff row as read when the turn arrived: the way out knows the
    fallback streak without reading it again."""

    def __init__(self, service: HandoffService, turn: CitizenTurn, seen: Handoff | None) -> None:
        self.service = service
        self.turn = turn
        self.seen = seen

    async def before_engine(self, text: str) -> TurnResult | None:
        conversation_id, channel = self.turn.conversation_id, self.turn.channel
        handoff = self.seen
        if handoff is not None:
            if handoff.state is State.WITH_AGENT:
                if text in (texts.CANCEL_PAYLOAD, texts.NOTE_PAYLOAD):  # an old button
                    return _say(texts.WITH_AGENT_ALREADY, "with_agent")
                return TurnResult((), status="with_agent")
            if handoff.state is State.WAITING and text == texts.WORK_ORDER_PAYLOAD:
                # Rather a work order than the wait: leave the queue, the bot takes it.
                if not await self._leave_queue(conversation_id):
                    return TurnResult((), status="with_agent")
                return None
            if handoff.state is State.WAITING:
                return await self._while_waiting(text)
            if handoff.awaiting_note:
                if text in texts.NOTE_CANCEL_WORDS:
                    await self.service.stop_note(conversation_id)
                    return _say(texts.NOTE_CANCELLED, "note_cancelled")
                note = await self.service.notes.leave(conversation_id, channel, text)
                return _say(texts.note_saved(note.id), "note_left")
            await self.service.sync_tracker(handoff)
        if text in texts.NOTE_WORDS:
            await self.service.start_note(conversation_id, channel)
            return _say(texts.NOTE_PROMPT, "note_prompt")
        if text == texts.CANCEL_PAYLOAD:
            return _say("您当前没有在排队等待人工客服。请问还有什么可以帮您？", "not_waiting")
        return None

    async def after_engine(self, result: TurnResult) -> TurnResult:
        conversation_id, channel = self.turn.conversation_id, self.turn.channel
        threshold = self.service.config.fallback_offer_after
        if wants_human(result):
            handoff = await self.service.get(conversation_id)
            reason = (
                "after_fallback"
                if handoff is not None and handoff.fallback_streak >= threshold
                else "citizen_request"
            )
            admission = await self.service.request(conversation_id, channel, reason)
            return self._admission(admission, result)
        fallback = is_fallback(result.understanding)
        if not fallback and (self.seen is None or self.seen.fallback_streak == 0):
            return result  # understood, and no streak to end: most turns stop here
        streak = await self.service.track_fallback(conversation_id, channel, fallback)
        if fallback and streak >= threshold and streak % threshold == 0:
            await self.service.offered(conversation_id, channel, streak)
            offer = BotMessage(
                texts.OFFER_AFTER_FAILURES, buttons=(texts.HUMAN_BUTTON, texts.WORK_ORDER_BUTTON)
            )
            return replace(result, messages=(offer,), status="handoff_offered")
        return result

    async def _leave_queue(self, conversation_id: str) -> bool:
        """False when an agent claimed the conversation at this very moment."""
        try:
            await self.service.cancel(conversation_id)
        except InvalidTransition:
            return False
        return True

    async def _while_waiting(self, text: str) -> TurnResult:
        conversation_id = self.turn.conversation_id
        try:
            if text in texts.CANCEL_WORDS:
                await self.service.cancel(conversation_id)
                return _say(texts.CANCELLED, "handoff_cancelled")
            if text in texts.NOTE_WORDS:
                await self.service.start_note(conversation_id, self.turn.channel)
                return _say(texts.NOTE_PROMPT, "note_prompt")
        except InvalidTransition:
            pass  # an agent claimed it at this very moment: the agent now answers
        handoff = await self.service.get(conversation_id)
        if handoff is not None and handoff.state is State.WITH_AGENT:
            return TurnResult((), status="with_agent")  # claimed while this turn was on its way
        if handoff is not None:
            await self.service.citizen_wrote(handoff)
        place = await self.service.place_of(conversation_id)
        if place is None:
            return TurnResult((), status="waiting")
        return TurnResult(
            (
                BotMessage(
                    texts.still_waiting(place.position, place.wait_minutes),
                    buttons=(texts.CANCEL_BUTTON,),
                ),
            ),
            status="waiting",
        )

    def _admission(self, admission: Admission, result: TurnResult) -> TurnResult:
        handoff = admission.handoff
        if handoff is not None and handoff.state is State.WITH_AGENT:
            return TurnResult((), status="with_agent", understanding=result.understanding)
        if admission.place is not None:
            place = admission.place
            buttons: tuple[Button, ...] = (texts.CANCEL_BUTTON,)
            if place.long_wait:
                buttons += (texts.NOTE_BUTTON, texts.WORK_ORDER_BUTTON)
            message = BotMessage(
                texts.queued(place.position - 1, place.wait_minutes, place.long_wait),
                buttons=buttons,
            )
            return TurnResult((message,), "handoff_waiting", result.understanding)
        hours = self.service.config.hours
        if admission.unavailable == "after_hours":
            opening = hours.local(admission.next_opening) if admission.next_opening else None
            text = texts.after_hours(hours.describe(), opening)
        else:
            text = texts.nobody_free()
        message = BotMessage(text, buttons=(texts.NOTE_BUTTON, texts.WORK_ORDER_BUTTON))
        return TurnResult((message,), "handoff_unavailable", result.understanding)


def _say(text: str, status: str) -> TurnResult:
    return TurnResult((BotMessage(text),), status=status)
