"""The question inside a message: the sentences that ask, without greetings, introductions and emoji.

Residents and staff write e-mail style (「いつもお世話になっております。○○町総務課の者です。…を
教えていただけますでしょうか。よろしくお願いいたします。」) or chat with emoji. :func:`focus` keeps
what asks, so that a polite 500-character mail with one question in it is read as that question.
:func:`asking_sentences` splits a message into the sentences that ask, so that a message with two
questions gets two answers.

Everything here is linear in the length of the text (no backtracking patterns over the whole text).
"""
from __future__ import annotations

import re
import unicodedata

from bot.nlp.normalize import MAX_QUESTION_CHARS

# Sentence ends. A line break ends a sentence too (mails are written line by line).
_SPLIT_RE = re.compile(r"(?<=[。！？!?\n])")
# A sentence that asks: a question ending, or a request for information.
_ASKS_RE = re.compile(
    r"(?:[?？]|か[。．.!！\s]*$|かな[。．.!！\s]*$|かね[。．.!！\s]*$|っけ[。．.!！\s]*$|の[。．.!！\s]*$|"
    r"教えて|おしえて|知りたい|しりたい|お知らせ|伺いたい|伺えれば|お伺い|うかがいたい|お尋ね|確認したい|"
    r"ご教示|ご教授|お聞きしたい|聞きたい|きかせて|聞かせて|(?:調べて|探して)(?:ください|下さい|ほしい|もらえ|いただ)|"
    r"(?:のか|か)(?:も|が)?(?:気にな|知りたく)|(?:のか|のかが|のかは)(?:わから|分から|わかりませ|分かりませ|知らな|不明)|"
    r"いただけ|頂け|ください|下さい|"
    r"でしょうか|ますか|ですか|ません?か|願います|お願いします|たいです|たいのですが)"
)
# Greetings, sign-offs and introductions: they ask nothing, whatever their ending.
_SMALL_TALK_RE = re.compile(
    r"^(?:.{0,12}(?:お世話にな|おせわにな)|.{0,6}(?:お疲れ様|おつかれさま|こんにちは|こんばんは|おはよう|はじめまして|初めまして)|"
    r"(?:突然|とつぜん).{0,12}(?:失礼|すみません|申し訳)|.{0,30}(?:の者です|と申します|ともうします|を担当して(?:い|お)ります)|"
    r".{0,30}(?:の担当です|担当者です|の職員です|職員です|の係です|在住の.{0,12}です|に勤めて(?:い|お)ります|(?:る|た)者です|勤務して(?:い|お)ります)|"
    r".{0,30}(?:室|課|係|部|局|担当|チーム|センター|事務所|役場|役所)(?:の[^。]{0,8})?です[。！!]?$|"
    r".{0,20}(?:よろしく|宜しく)(?:お願い|おねがい)(?:いた|致|申し上げ|し)|.{0,20}(?:ありがとうございま|ありがとう)|"
    r".{0,10}(?:以上、?よろしく|以上です))"
)
# A question that points back needs the sentence before it (「富士通の発表を見ました。その会社は…」).
# 「それと、」「それから、」 add an ask and 「そこで、」 leads to one; they point back at nothing
_POINTS_BACK_RE = re.compile(r"(?:その|それ(?!と[、,も]|から[、,]|に加え)|"
                             r"そこ(?!で(?:[、,]|伺|お伺|お聞き|お尋ね|質問|教え))|"
                             r"この|これ|こちら|そちら|あの|同じ|同社|当該)")


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk", "Cs") or ch in "\ufe0f\u200d"


def strip_symbols(text: str) -> str:
    """Emoji and pictographs out, when letters remain (a lone 👍 is a rating and stays)."""
    kept = "".join("\n" if _is_symbol(ch) else ch for ch in text)  # in chat, an emoji ends a sentence
    kept = re.sub(r"\s*\n\s*", "\n", kept).strip()
    return kept if any(ch.isalnum() for ch in kept) else text


def sentences(text: str) -> list[str]:
    return [c for s in (part.strip() for part in _SPLIT_RE.split(text)) if s for c in clauses(s)]


# 「二点目は、…のお名前と役職です。」: an item of an enumerated request asks, whatever its ending.
_ITEM_RE = re.compile(r"^(?:[一二三四五1-5]点目|[一二三四五1-5]つ目|ひとつ目|ふたつ目|[①②③④⑤])")


def asks(sentence: str) -> bool:
    bare = sentence.rstrip("。")
    named_first = bool(_NAMED_FIRST_RE.search(bare))  # 「発表された方のお名前と、…のか教えて」's first part
    asked_first = bare[-1:] in ("て", "で") and bool(_WH_RE.search(bare))  # 「どういう方針に基づいて…進めていて、」
    return (bool(_ASKS_RE.search(sentence) or _ITEM_RE.match(sentence) or named_first or asked_first)
            and not small_talk(sentence))


def small_talk(sentence: str) -> bool:
    return bool(_SMALL_TALK_RE.match(sentence))


# Two questions in one sentence: 「…開発されたのか、また…参加しているのか」, and a detail named before
# an embedded question 「発表された方のお名前と、…何を買ってもらうことを狙っているのか、教えて」 (the
# first part keeps its 「と」, which marks it as asking: see :func:`asks`).
_CLAUSE_RE = re.compile(r"(?<=[かの])、(?=また|あと|それと|それから|さらに|加えて|そして)|(?<=[?？])")


_WH_RE = re.compile(r"何|なに|どこ|いつ|誰|だれ|どの|どう|どんな|いくつ|いくら")
_NAMED_FIRST_RE = re.compile(r"の[^。？?、と]{1,12}と$")  # a detail of something: 「…方のお名前と」
# 「どういう方針に基づいて取組を進めていて、具体的に何をしていくのか」: two asks joined by a て-form
_TE_COMMA_RE = re.compile(r"(?<=[てでと])、")


def clauses(sentence: str) -> list[str]:
    out = []
    for part in _CLAUSE_RE.split(sentence):
        out += _wh_clauses(part.strip())
    return [c for c in out if c]


def _wh_clauses(part: str) -> list[str]:
    """Split at a comma after a て-form when the words on both sides ask something (a wh-word each), or
    after a detail named with と (「発表された方のお名前と、…何を…のか」; not 「京都府と、墨田区の…」)."""
    for m in _TE_COMMA_RE.finditer(part):
        left, right = part[:m.start()], part[m.end():]
        if not (_WH_RE.search(right) and _ASKS_RE.search(right)):
            continue
        if _NAMED_FIRST_RE.search(left) if left.endswith("と") else _WH_RE.search(left):
            return [left, *_wh_clauses(right)]
    return [part]


def asking_sentences(text: str, context: bool = False) -> list[str]:
    """The sentences of ``text`` that ask, each with the sentence before it when it points back (or
    always, with ``context``)."""
    parts = sentences(text)
    out: list[str] = []
    for i, sentence in enumerate(parts):
        if not asks(sentence):
            continue
        before = parts[i - 1] if i > 0 else ""
        if (before and (context or _POINTS_BACK_RE.search(sentence[:12])) and not small_talk(before)
                and not asks(before)):
            sentence = before + sentence
        out.append(sentence)
    return out


def focus(text: str) -> str:
    """What of ``text`` the guide should read as the question."""
    if not text:
        return text
    text = strip_symbols(text)
    parts = sentences(text)
    if len(parts) <= 1:
        return parts[0] if parts else text
    talk = [s for s in parts if not small_talk(s)]
    if not talk:  # 「こんにちは。よろしくお願いします。」 is small talk, and is read as such
        return text
    # The background stays: it often names what the question is about (「…の事例紹介があったと聞きました。
    # どの事業者が実証したものか教えてください」). Which sentences ask is decided in bot/dialogue/answer.py.
    text = _join(talk)
    if len(text) <= MAX_QUESTION_CHARS:
        return text
    # Too long to read whole: the sentences that ask, each with the one before it.
    asking = asking_sentences("\n".join(talk), context=True)
    return _join(asking) if asking else text


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return "".join(p if p[-1] in "。！？!?" or i == len(parts) - 1 else p + "。" for i, p in enumerate(parts))
