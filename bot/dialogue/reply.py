"""What the dialogue layer hands back to the action: text, buttons and the new context."""
from __future__ import annotations

from dataclasses import dataclass

from bot.dialogue.query import Context


@dataclass(frozen=True)
class Reply:
    text: str
    context: Context
    buttons: tuple[dict, ...] = ()
    answered: bool = True  # False when the knowledge base had nothing to say
    source: str | None = None
