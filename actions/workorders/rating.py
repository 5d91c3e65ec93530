"""Rating an answered order (``rating_form``): 满意 / 基本满意 / 不满意, and why when not
satisfied (不满意 sends the order back to be handled again, 重办)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import HotlineAction, latest_text
from actions.workorders.desk import get_desk
from actions.workorders.forms import RATING_FORM, RATING_SLOTS, AskAction, FollowUpValidation
from actions.workorders.tracker import number_and_phone, reset, text_slot
from bot.workorders.dialogue.answers import Unclear, find_rating, read_note, read_rating
from bot.workorders.dialogue.intake import first_comment
from bot.workorders.errors import WorkOrderConflict, WorkOrderError
from bot.workorders.models import Rating


class ActionStartRating(HotlineAction):
    def name(self) -> str:
        return "action_start_rating"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        rating = find_rating(text)
        comment: str | None = None
        if rating is Rating.DISSATISFIED:
            comment = first_comment(text)
        elif rating is not None:
            comment = ""
        return [
            *reset(*RATING_SLOTS, "requested_slot"),
            *number_and_phone(tracker),
            SlotSet("rating", rating.value if rating else None),
            SlotSet("rating_comment", comment),
            FollowupAction(RATING_FORM),
        ]


class AskRatingNumber(AskAction):
    key = "rating_form_ticket_number"


class AskRatingPhone(AskAction):
    key = "rating_form_phone_number"


class AskRating(AskAction):
    key = "rating"


class AskRatingComment(AskAction):
    key = "rating_comment"


class ValidateRatingForm(FollowUpValidation):
    def name(self) -> str:
        return "validate_rating_form"

    async def validate_rating(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = self.answer_text(tracker, "rating", value)
        try:
            rating = Rating(value) if value in set(Rating) else read_rating(text)
        except Unclear as exc:
            return self.refuse(dispatcher, "rating", exc)
        if rating is not Rating.DISSATISFIED:
            return {"rating": rating.value, "rating_comment": ""}
        # 不满意: ask why, unless the citizen already said
        return {
            "rating": rating.value,
            "rating_comment": tracker.get_slot("rating_comment") or None,
        }

    async def validate_rating_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return self.read_answer(
            "rating_comment",
            value,
            dispatcher,
            tracker,
            lambda text: read_note(text, optional=True),
        )


class ActionRateTicket(HotlineAction):
    def name(self) -> str:
        return "action_rate_ticket"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = text_slot(tracker, "ticket_number")
        phone = text_slot(tracker, "phone_number")
        rating = text_slot(tracker, "rating")
        if not (number and phone and rating):
            return reset(*RATING_SLOTS)
        try:
            desk = await get_desk()
            view = await desk.rate(
                number, phone, Rating(rating), text_slot(tracker, "rating_comment")
            )
        except WorkOrderConflict as exc:
            dispatcher.utter_message(
                text=f"这件工单目前还不能评价：{exc.message}承办单位答复后会通知您，届时再评价即可。"
            )
            return reset(*RATING_SLOTS)
        except WorkOrderError as exc:
            dispatcher.utter_message(text=exc.message)
            return reset(*RATING_SLOTS)
        if Rating(rating) is Rating.DISSATISFIED:
            head = (
                f"收到您的评价，很抱歉这次没能让您满意。工单 {view.order_no} 已退回重新办理（重办），"
                "有新的进展会及时告诉您。"
            )
        else:
            head = "感谢您的评价！"
        dispatcher.utter_message(text=f"{head}\n{desk.describe(view)}")
        return reset(*RATING_SLOTS)
