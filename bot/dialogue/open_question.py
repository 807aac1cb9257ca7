"""Questions no intent fits: the best FAQ entry or presentation passage, with its source.

Used when the classifier says out_of_scope or is unsure. Only a clear match is offered (BM25 score
at least MIN_SCORE, calibrated on the sample FAQ: relevant hits score 9-20, unrelated ones ≤ 6);
otherwise the guide says plainly that it cannot answer. Each word of the question that the knowledge
base has never seen raises the bar by UNKNOWN_WORD_PENALTY: 「カレーの作り方」 is about curry, not about
the FAQ entry that mentions 「作り方」 (one shared word scores ~8), while 「娘のマイナンバーカードの
作り方」 still matches its entry on two strong words.
"""
from __future__ import annotations

from bot.dialogue.query import Query
from bot.dialogue.reply import Reply
from bot.search import index as search_index

MIN_SCORE = 8.0
UNKNOWN_WORD_PENALTY = 6.0
# 「もしかして」 suggestions per question intent: (button title, message sent when clicked).
SUGGESTION_BUTTONS = {
    "ask_assembly": ("総会の日時・会場", "総会の概要を教えて"),
    "ask_program": ("総会のプログラム", "総会のプログラムを教えて"),
    "ask_presentation": ("発表の一覧", "どんな発表がありましたか"),
    "ask_society": ("研究会について", "研究会の目的と事務局を教えて"),
    "ask_municipality": ("団体コードの調べ方", "団体コードを調べたい"),
}


def open_answer(query: Query, lg_code: str | None = None, url: str | None = None) -> Reply | None:
    index = search_index.index_for(url)
    try:
        hits = index.search(query.text, lg_code, 1)
    except search_index.InvalidLgCode:
        hits = index.search(query.text, None, 1)
    if not hits or hits[0].score < MIN_SCORE + UNKNOWN_WORD_PENALTY * len(index.unknown_terms(query.text)):
        return None
    hit = hits[0]
    lines = [f"お尋ねの内容に近い情報がありました。\n{hit.title}\n{hit.text}"]
    contact = "、".join(x for x in (hit.department, hit.phone, hit.url) if x)
    if contact:
        lines.append(f"お問い合わせ：{contact}")
    lines.append(f"（出典：{hit.source}）")
    return Reply("\n".join(lines), query.context, source=hit.source)


def maybe_buttons(ranking: list[dict], limit: int = 3) -> tuple[dict, ...]:
    """Buttons for the question intents the classifier considered (「もしかして…」)."""
    out = []
    for item in ranking:
        name = item.get("name")
        if name in SUGGESTION_BUTTONS and (item.get("confidence") or 0) >= 0.05:
            title, payload = SUGGESTION_BUTTONS[name]
            out.append({"title": title, "payload": payload})
    return tuple(out[:limit])
