"""Hand-off to a person: which contact to give, and how to say it. Contacts come from bot.kb.contacts."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot.kb import contacts
from bot.kb.contacts import Contact

SOCIETY_SUBJECTS = ("assembly", "presentation", "program", "society")
FAILED_TURNS_FOR_HANDOFF = 2
NOT_REGISTERED = "データに記載がありません"
NO_CONTACT = "申し訳ありません。お問い合わせ先の情報がデータに登録されていないため、ご案内できません。"
OFFER_AFTER_FAILURES = "うまくお答えできず申し訳ありません。職員に直接お問い合わせいただくこともできます。"
POSTED = "これまでの会話の内容（個人情報は伏せています）を担当の職員に引き継ぎました。"


def choose(session: Session, subject_type: str | None, lg_code: str | None) -> list[Contact]:
    """The responsible contacts: the society's secretariat for society questions, else the FAQ's 担当部署
    of the municipality in context; the secretariat when nothing else is known."""
    if lg_code and subject_type not in SOCIETY_SUBJECTS:
        found = contacts.municipality(session, lg_code)
        if found:
            return found
    secretariat = contacts.secretariat(session)
    return [secretariat] if secretariat else []


def render(found: list[Contact]) -> str:
    if not found:
        return NO_CONTACT
    lines = ["職員へのお問い合わせは、次の窓口へお願いいたします。"]
    for c in found:
        lines.append(_contact_lines(c))
    sources = "、".join(dict.fromkeys(c.source for c in found if c.source))
    if sources:
        lines.append(f"（出典：{sources}）")
    return "\n".join(lines)


def _contact_lines(c: Contact) -> str:
    who = (f"{c.department}（{c.organization}）" if c.organization and c.organization not in c.department
           else c.department)
    parts = [f"・担当：{who}"]
    missing = []
    for label, value in (("電話番号", c.phone), ("受付時間", c.hours), ("URL", c.url)):
        if value:
            parts.append(f"　{label}：{value}")
        else:
            missing.append(label)
    if missing:
        parts.append(f"　{'・'.join(missing)}は、{NOT_REGISTERED}。")
    return "\n".join(parts)


def transcript(events: list[dict], sender_id: str, channel: str | None, limit: int = 30) -> str:
    """The conversation as plain text for staff (mask it before sending)."""
    lines = [f"窓口への引き継ぎ依頼（会話ID: {sender_id}、チャネル: {channel or '不明'}）"]
    turns = []
    for e in events:
        if e.get("event") == "user" and (e.get("text") or "").strip():
            turns.append(f"利用者: {e['text']}")
        elif e.get("event") == "bot" and (e.get("text") or "").strip():
            turns.append(f"ガイド: {e['text']}")
    return "\n".join(lines + turns[-limit:])
