"""Questions about the local-government master: codes, names, prefectures, ambiguous names."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot.dialogue import render
from bot.dialogue.query import Query
from bot.dialogue.reply import Reply
from bot.kb import queries
from bot.kb.codes import check_digit, complete
from bot.kb.records import LocalGovernmentRecord


def municipality_reply(session: Session, query: Query) -> Reply | None:
    """The answer about a code or a named municipality; None when the question names neither."""
    attribute = next((a for a in ("prefecture", "code") if a in query.attributes), None)
    for raw in query.values("lg_code"):
        code = complete(raw)
        if code is None:
            expected = raw[:5] + str(check_digit(raw[:5]))
            text = (
                f"「{raw}」は正しい全国地方公共団体コードではありません（検査数字が合いません。"
                f"{raw[:5]}で始まるコードなら{expected}です）。"
            )
            return Reply(text, query.context, answered=False)
        lg = queries.local_government(session, code)
        if lg is None:
            return Reply(f"全国地方公共団体コード「{code}」の団体はデータにありません。", query.context, answered=False)
        return Reply(
            render.lg_by_code_answer(raw, lg),
            query.context.with_(subject_type="municipality", municipality_code=lg.code, pending=None),
            source=render.MASTER_SOURCE,
        )
    names = query.values("municipality")
    if not names:
        if query.context.municipality_code and query.intent == "ask_municipality":
            lg = queries.local_government(session, query.context.municipality_code)
            return lg_reply(session, query, lg, attribute) if lg else None
        if query.intent == "ask_municipality":
            text = "どの市区町村についてのご質問でしょうか。市区町村名か全国地方公共団体コードを添えてお尋ねください。"
            return Reply(text, query.context, answered=False, clarifies=True)  # asks which: not a failure
        return None
    name = max(names, key=len)  # 東京都府中市 over 東京都 when both were found
    candidates = queries.local_governments_named(session, name)
    if not candidates:
        return Reply(f"「{name}」は全国地方公共団体コードの一覧に見つかりません。", query.context, answered=False)
    if len(candidates) > 1:
        return _clarify(query, name, candidates, attribute)
    return lg_reply(session, query, candidates[0], attribute)


def _clarify(query: Query, name: str, candidates: list[LocalGovernmentRecord], attribute: str | None) -> Reply:
    what = "の都道府県は？" if attribute == "prefecture" else "の団体コードは？"
    buttons = tuple({"title": c.full_name, "payload": f"{c.full_name}{what}"} for c in candidates)
    options = "、".join(c.full_name for c in candidates)
    text = f"「{name}」は複数あります（{options}）。どちらについてお調べしますか。"
    pending = ",".join(c.code for c in candidates) + f";{attribute or ''}"
    return Reply(text, query.context.with_(pending=pending), buttons=buttons, answered=False, clarifies=True)


def pending_choice(session: Session, query: Query) -> Reply | None:
    """「東京都の方」 after 「府中市は複数あります」: pick the candidate whose prefecture is named."""
    codes, _, attribute = (query.context.pending or "").partition(";")
    candidates = [lg for code in codes.split(",") if code for lg in [queries.local_government(session, code)] if lg]
    text = query.text
    named = set(query.values("municipality"))
    chosen = [
        c for c in candidates
        if c.full_name in named or c.pref_name in named or _short_prefecture(c.pref_name) in text
    ]
    if len(chosen) != 1:
        return None
    return lg_reply(session, query, chosen[0], attribute or None)


def lg_reply(session: Session, query: Query, lg: LocalGovernmentRecord, attribute: str | None) -> Reply:
    context = query.context.with_(subject_type="municipality", municipality_code=lg.code, pending=None)
    return Reply(render.lg_answer(lg, attribute), context, source=render.MASTER_SOURCE)


def _short_prefecture(name: str) -> str:
    """東京都 → 東京, 京都府 → 京都, 広島県 → 広島 (北海道 stays)."""
    return name[:-1] if name[-1] in "都府県" and len(name) > 2 else name


def chained_places(session: Session, query: Query, codes: list[str], via: str = "") -> Reply | None:
    """Places reached through another record (the cities of a presentation, the venue's ward), and
    whether two places are the same: 「AIスタッフの検証をした市は何県？」「会場の区の団体コードは？」."""
    attrs = set(query.attributes)
    compare = query.compares_places()
    lgs = [lg for code in codes for lg in [queries.local_government(session, code)] if lg]
    if compare and not lgs:
        named = [c for name in query.values("municipality") for c in queries.local_governments_named(session, name)[:1]]
        if len(named) >= 2:
            lgs = named
    if not lgs or not (attrs & {"code", "prefecture", "place"} or compare):
        return None
    if compare and len(lgs) >= 2:
        prefs = {lg.pref_name for lg in lgs}
        names = "と".join(lg.full_name for lg in lgs)
        if "prefecture" in attrs or len({lg.code for lg in lgs}) > 1:
            same = ("はい、どちらも" + lgs[0].pref_name + "にあります" if len(prefs) == 1
                    else "いいえ、都道府県は異なります")
            lines = [f"{same}（{names}）。"] + [
                f"・{lg.full_name}：{lg.pref_name}（団体コード {lg.code}）" for lg in lgs]
        else:
            lines = [f"はい、同じ団体です（{lgs[0].full_name}、団体コード {lgs[0].code}）。"]
        text = "\n".join(lines) + "\n" + render.source_line(render.MASTER_SOURCE)
        return Reply(text, query.context, source=render.MASTER_SOURCE)
    attribute = "prefecture" if "prefecture" in attrs else "code"
    if "place" in attrs and not attrs & {"code", "prefecture"}:
        if len(lgs) == 1:
            text = f"{via}{lgs[0].full_name}です（全国地方公共団体コード {lgs[0].code}）。"
        else:  # 「検証をやったのは何市？」: how many, then which
            unit = next((u for u in ("市", "区", "町", "村") if all(lg.name.endswith(u) for lg in lgs)), "団体")
            text = f"{via}{len(lgs)}{unit}です。" + "、".join(
                f"{lg.full_name}（全国地方公共団体コード {lg.code}）" for lg in lgs) + "。"
        context = query.context.with_(subject_type="municipality", municipality_code=lgs[0].code, pending=None)
        return Reply(f"{text}\n{render.source_line(render.MASTER_SOURCE)}", context, source=render.MASTER_SOURCE)
    if len(lgs) == 1:
        return lg_reply(session, query, lgs[0], attribute)
    lines = [
        f"・{lg.name}：{lg.pref_name}（全国地方公共団体コード {lg.code}）" if attribute == "prefecture"
        else f"・{lg.full_name}：{lg.code}"
        for lg in lgs
    ]
    head = "それぞれ次のとおりです。" if attribute == "prefecture" else "全国地方公共団体コードは次のとおりです。"
    text = "\n".join([head] + lines) + "\n" + render.source_line(render.MASTER_SOURCE)
    return Reply(text, query.context.with_(pending=None), source=render.MASTER_SOURCE)


# What people ask about a municipality that the national master does not hold.
PLACE_GAPS = frozenset({"population", "phone", "url", "email", "address", "hours", "representative"})


def municipality_gap(session: Session, query: Query, attribute: str) -> Reply | None:
    """「墨田区長の名前は」: the master holds codes, names and prefectures only."""
    from bot.dialogue import details

    name = max(query.values("municipality"), key=len)
    found = queries.local_governments_named(session, name)
    if len(found) != 1:
        return None
    lg = found[0]
    text = details.not_recorded("このガイドのデータ", lg.full_name, attribute, details.lg_nearby(lg))
    context = query.context.with_(subject_type="municipality", municipality_code=lg.code, pending=None)
    return Reply(f"{text}\n{render.source_line(render.MASTER_SOURCE)}", context, source=render.MASTER_SOURCE)
