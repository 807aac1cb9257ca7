"""What the dialogue layer hands back to the action: text, buttons and the new context."""
from __future__ import annotations

from dataclasses import dataclass

from bot.dialogue.query import Context

# What the guide suggests asking when it cannot answer.
SUGGESTIONS = "総会の日時・会場・参加者数、発表の内容、研究会の事務局、市区町村の団体コードなどをお尋ねください。"
# What a user gets when an answer could not be made (database or action server unavailable).
APOLOGY = "申し訳ありません。ただいま回答を用意できませんでした。しばらくしてからもう一度お試しください。"
# How bot.dialogue.details.not_recorded says that the records lack a detail (bot.report reads it too).
NOT_RECORDED = "の記載がありません"
# bot.dialogue.answer's resolver for messages that are no question about our records.
NOT_UNDERSTOOD_RESOLVER = "not about the knowledge base"


@dataclass(frozen=True)
class Reply:
    text: str
    context: Context
    buttons: tuple[dict, ...] = ()
    answered: bool = True  # False when the knowledge base had nothing to say
    source: str | None = None
    resolver: str = ""  # which resolver of bot.dialogue.answer answered (logged: why it answered that)
    # what the action does with it: "answer" (text), "response" (a domain response, ``response``),
    # "rating" (store 👍/👎, ``rating``), "comment" (store the text as the comment on a 👎)
    kind: str = "answer"
    response: str | None = None
    rating: str | None = None
    neutral: bool = False  # neither answered nor failed (small talk, help, an empty message)
    clarifies: bool = False  # asks the user to choose among candidates (「府中市は複数あります」): not a failure

    @property
    def outcome(self) -> str:
        """What this turn was, stored with the bot's message (BotUttered metadata ``outcome``, set in
        actions/actions.py) so that `madoguchi report` tells apart why a question went unanswered:
        "answered"; "missing" (understood, but the records lack the detail or the record asked for:
        details.not_recorded's 「…の記載がありません」, or no such assembly, presentation or municipality);
        "clarify" (asks the user to choose); "not_understood" (not read as a question about our records);
        "neutral" (small talk, help, ratings, comments)."""
        if self.neutral or self.kind in ("rating", "comment"):
            return "neutral"
        if self.clarifies:
            return "clarify"
        if self.kind == "response" or self.resolver == NOT_UNDERSTOOD_RESOLVER:
            return "not_understood"
        if not self.answered:
            return "missing"
        return "missing" if NOT_RECORDED in self.text else "answered"
