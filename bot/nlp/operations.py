"""The shape of a question over several records: what to do with what it names.

:func:`extract` finds, in a normalized message,

- ``operation``: ``count`` (何件), ``list`` (どれ・一覧), ``exists`` (〜はありましたか・〜しましたか),
  ``order:N`` / ``order:last`` (3番目・最後), ``order:before`` / ``order:after`` (AはBより先・後),
  ``compare`` (同じ・違う), ``duration`` (何時間);
- ``presenter_kind``: the kind of presenter a question filters by (企業 → 民間企業, 国の機関,
  都道府県, 市区町村, 自治体). The kinds are those of organizations.csv 種別 and of the local-government
  master; which presenter is of which kind comes from the data, never from here.

They are entities like the others (value, start, end), so the dialogue reads them from the message.
"""
from __future__ import annotations

import re
from typing import Any

_OP_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("count",
     re.compile(r"何件|何個|何本|いくつ|幾つ|何団体|何社|何組|何か所|何ヶ所|件数|数は|何題|何の団体が|いくらかの数")),
    ("duration",
     re.compile(r"(?:何|なん)時間|(?:何|なん)分間|どのくらいの時間|どれくらいの時間|どれぐらいの時間|所要時間|時間の長さ|長さは")),
    ("compare", re.compile(r"同じ|同一|おなじ|違う|ちがう|異なる|(?<!ご)一緒(?!に)|(?<!ご)いっしょ(?![にう])")),
    ("choose", re.compile(r"どっち|どちらが|どちらの方")),
    ("list", re.compile(
        r"どれ|どの発表|どの団体|どの自治体|どの企業|どの会社|どこの自治体|どこの団体|どこの企業|どこの会社|"
        r"一覧|全部|すべて|全て|挙げて|列挙|それぞれ|どんな(?:団体|企業|自治体|会社)|自治体名|団体名|企業名|会社名|事業者名"
    )),
    ("which", re.compile(r"どこ|どちら|だれ|誰|どなた|何という")),
    ("exists", re.compile(
        r"(?:あり|あっ|し|やり|行い|おこない|登壇し|参加し|発表し|報告し|出)(?:ました|ます|てました|ていました|てます|ています)?(?:か|かね|っけ)|"
        r"(?<!で)(?:あった|した|やった|出た|いた|ある|して(?:た|る|い(?:た|る))|やって(?:た|る)|出て(?:た|る))(?:の|ん)?(?:です|でしょう)?(?:か|かな|っけ)?[?？]|"
        r"(?<!で)(?:あった|した|やった|出た|いた|ある)(?:の|ん)?(?:です|でしょう)?(?:か|かな|っけ)[。]?$|含まれ|入って(?:い)?ます|入ってる|"
        r"(?:って|というのは|のは)(?:ほんと|本当)|[、,]\s*(?:ほんと|本当|ホント)(?:です|なの|なんです|でしょう)?か?[?？!！]*$|"
        r"(?:発表|登壇|報告)(?:し|を)(?:た|てる|ている|てた|ていた|した)?(?:側|方|ほう)?(?:なん|なの)(?:です|でしょう)?(?:か|かな)?[?？]"
    )),
)
_ORDER_RE = re.compile(
    r"(?P<which>何番目|何番手|何番め|何番に|どの順番)|"
    # 「AはBより先でしたか」「Bよりも後ですか」: whether one came before the other (a yes or no)
    r"(?P<before>より(?:も)?(?:先|前|早)(?=に?(?:発表|登壇|報告|講演)?(?:でし|です|だっ|だ|か|しま|した|[?？])))|"
    r"(?P<after>より(?:も)?(?:後|あと|遅)(?=に?(?:発表|登壇|報告|講演)?(?:でし|です|だっ|だ|か|しま|した|[?？])))|"
    r"(?P<next>(?:の|より)(?:すぐ|直)?(?:次|あと|後)(?:に|は|で|って|が|の人|の方)|の次の(?:発表|登壇)|の(?:すぐ)?(?:あと|後)の(?:発表|番)|の直後)|"
    r"(?P<previous>の(?:ひとつ|一つ|1つ)?(?:前|手前)(?:に|の(?:発表|登壇|団体|番)|は|って)|の直前)|"
    r"(?P<n>\d{1,2})\s*(?:番目|番め|つ目|つめ|個目|本目|件目)(?![、,])|(?P<first>トップバッター|(?:最初|一番初め|いちばん初め|一番はじめ|はじめ|初め|冒頭|1番最初|一番最初)(?=(?:の|に|で)?(?:発表|登壇|報告|講演|団体|方|順|番|プレゼン)|(?:は|って)(?:どこ|誰|だれ|何|なに)|"
    r"と(?:最後|ラスト|トリ|一番最後|いちばん最後)))|"
    r"(?P<last>(?:いちばん|一番)?(?:最後|ラスト|最終)(?=(?:の|に|で)?(?:発表|登壇|報告|講演|団体|方|順|番|プレゼン)|(?:は|って)(?:どこ|誰|だれ|何|なに))|トリ(?=は|を|の発表))"
)
_SENTENCE_ENDS = "。？?！!\n"
_TOPIC_WH_RE = re.compile(r"(?:は|って)(?:どこ|誰|だれ|何|なに)")  # 「最初はどこ」
_PRESENTATION_WORD_RE = re.compile(r"発表|登壇|報告|講演|プレゼン|順|番|プログラム|団体")
# What may follow 「最初はどこ」 in a question about the order: endings and a request, no other word.
_ONLY_ASKING_RE = re.compile(r"(?:だった|でした|です|だ|なの|なん|でしょう|ですか|ました|か|っけ|の|ん|ね|よ|を|って|"
                             r"教えて|おしえて|ください|下さい|いただけ|もらえ|ます|知りたい|たい)*\s*$")


def _about_the_order(text: str, m: re.Match[str]) -> bool:
    """「最初はどこ？」 asks who presented first; 「最初はどこの市で試された」 asks where something was first
    tried: without a presentation word in its sentence, 最初・最後 is the order of the presentations only
    when little follows the question word."""
    start, end = _sentence_at(text, m.start(), m.end())
    if _PRESENTATION_WORD_RE.search(text, start, end):
        return True
    wh = _TOPIC_WH_RE.match(text, m.end())
    return wh is None or bool(_ONLY_ASKING_RE.match(text[wh.end():end]))


def _next_talk(text: str, m: re.Match[str]) -> bool:
    """「富士通の次に発表したのは」「じゃあその次は？」 ask for a talk; 「その前にどこで検証してた」 asks when
    something was done: without a presentation word, only a bare question may follow."""
    start, end = _sentence_at(text, m.start(), m.end())
    if _PRESENTATION_WORD_RE.search(text, start, end) or _TALKED_RE.search(text, start, end):
        return True
    rest = _NEXT_WH_RE.sub("", text[m.end():end], count=1)
    return bool(_ONLY_ASKING_RE.match(rest))


_TALKED_RE = re.compile(r"話し|話を|説明し|出番|登場|しゃべ|喋")
_NEXT_WH_RE = re.compile(r"^(?:って|は)?[、,]?\s*(?:どこ|誰|だれ|どなた|どちら|何|なに)?")


def _sentence_at(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence holding ``text[start:end]``."""
    before = max(text.rfind(c, 0, start) for c in _SENTENCE_ENDS) + 1
    ends = [i for i in (text.find(c, end) for c in _SENTENCE_ENDS) if i >= 0]
    return before, min(ends) if ends else len(text)


_KIND_WORDS = (
    ("民間企業", r"民間企業|民間事業者|企業|会社|民間|事業者|メーカー|ベンダー"),
    ("国の機関", r"国の機関|国機関|中央省庁|省庁|官公庁|国の行政機関|政府|国(?=から|が|の発表|による|は)"),
    ("都道府県", r"都道府県|府県"),
    ("特別区", r"特別区|東京23区|23区"),
    ("市区町村", r"市区町村|市町村|基礎自治体|市や区|市と区|市・区|市とか区|区市町村"),
    ("自治体", r"地方公共団体|自治体"),
)
_KIND_RE = re.compile(
    r"(?<!その)(?<!この)(?<!あの)(?P<kind>" + "|".join(f"(?P<k{i}>{p})" for i, (_, p) in enumerate(_KIND_WORDS)) + r")"
    r"(?:から|による|が行った|がした|が発表した|が報告した|の方|側)?(?:の|が|は|も|で|による)?"
    r"[^。？?]{0,6}?(?:発表|報告|講演|登壇|プレゼン|説明)"
)


# 「企業は何社」「省庁はいくつ」: counting presenters of a kind (not 「自治体がいくつ参加」)
_KIND_COUNT_RE = re.compile(
    r"(?<!その)(?<!この)(?P<kind>(?P<k0>民間企業|企業|会社|民間|事業者)|(?P<k1>国の機関|省庁|中央省庁))(?:は|が|も|から)?"
    r"[^。？?]{0,4}?(?:何社|何件|いくつ|何機関|何団体)"
)
_KIND_AFTER_RE = re.compile(
    r"(?:発表|報告|登壇|説明|話を|話)(?:した|を行った|している)(?P<kind>"
    + "|".join(f"(?P<k{i}>{p})" for i, (_, p) in enumerate(_KIND_WORDS))
    + r")"
)
# 「国は…」「国として…」: the speaker is the national government (a tie-breaker between presentations)
_NATION_RE = re.compile(r"(?<![一-龥])国(?:は|が|として|も|から|の取組|の方針|の役所|の省庁|のどこ|のどの|"
                        r"の機関(?:も|は|が|から|として))")


def _entity(entity: str, value: str, match: re.Match[str], group: str | int = 0) -> dict[str, Any]:
    return {"entity": entity, "value": value, "start": match.start(group), "end": match.end(group)}


# A question word makes a question ask for a value, not a yes or no (「何を発表しましたか」).
_WH_RE = re.compile(r"(?:何|なに|なん(?!で(?:す|しょう))|どこ|いつ|誰|だれ|どれ)(?!か)|"
                    r"どんな|どう|どの|どなた|いくつ|いくら|どちら|"
                    r"どっち|なぜ|何故|どうして")


def extract(text: str) -> list[dict[str, Any]]:
    """``operation`` and ``presenter_kind`` entities of ``text`` (normalized), in text order."""
    found: list[dict[str, Any]] = []
    if not text:
        return found
    def asks_value(at: int) -> bool:  # a question word in the sentence of position ``at``
        return bool(_WH_RE.search(text, *_sentence_at(text, at, at)))

    for m in _ORDER_RE.finditer(text):
        if (m.group("first") or m.group("last")) and not _about_the_order(text, m):
            continue
        if (m.group("next") or m.group("previous")) and not _next_talk(text, m):
            continue
        special = next((g for g in ("which", "before", "after", "next", "previous", "last") if m.group(g)), None)
        if special in ("before", "after") and asks_value(m.start()):  # 「内閣府より後に発表したのはどこ」
            special = "next" if special == "after" else "previous"
        value = f"order:{special}" if special else "order:1" if m.group("first") else f"order:{int(m.group('n'))}"
        found.append(_entity("operation", value, m))
    for name, pattern in _OP_PATTERNS:
        hit = pattern.search(text)
        if hit and not (name == "exists" and asks_value(hit.start())):
            found.append(_entity("operation", name, hit))
    for m in _KIND_RE.finditer(text):
        index = next(i for i in range(len(_KIND_WORDS)) if m.group(f"k{i}"))
        found.append(_entity("presenter_kind", _KIND_WORDS[index][0], m, "kind"))
    for m in _KIND_COUNT_RE.finditer(text):
        found.append(_entity("presenter_kind", "民間企業" if m.group("k0") else "国の機関", m, "kind"))
    for m in _KIND_AFTER_RE.finditer(text):  # 「発表した市区町村は」
        index = next(i for i in range(len(_KIND_WORDS)) if m.group(f"k{i}"))
        found.append(_entity("presenter_kind", _KIND_WORDS[index][0], m, "kind"))
    if not any(e["entity"] == "presenter_kind" for e in found):
        nation = _NATION_RE.search(text)
        if nation:
            found.append({"entity": "presenter_kind", "value": "国の機関", "start": nation.start(),
                          "end": nation.start() + 1})
    return sorted(found, key=lambda e: e["start"])
