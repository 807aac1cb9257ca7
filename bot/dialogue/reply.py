"""What the dialogue layer hands back to the action: text, buttons and the new context."""
from __future__ import annotations

from dataclasses import dataclass

from bot.dialogue.query import Context


# What the guide suggests asking when it cannot answer.
SUGGESTIONS = "総会の日時・会場・参加者数、発表の内容、研究会の事務局、市区町村の団体コードなどをお尋ねください。"
# What a user gets when an answer could not be made (database or action server unavailable).
APOLOGY = "申し訳ありません。ただいま回答を用意できませんでした。しばらくしてからもう一度お試しください。"


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
