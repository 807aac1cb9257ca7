"""The details people ask about, including those the data does not record.

Each attribute id (the value of an ``attribute`` cue, data/nlu/attributes.yml) has a label here. The
functions ``*_missing`` say, for one record, whether it holds a value for the asked detail. When it
does not, :func:`not_recorded` says so plainly and specifically, names what the report does record
nearby, and where to ask. No reply gives another detail's value in place of the one asked.
"""
from __future__ import annotations

from bot.dialogue.render import hours_text, source_line
from bot.dialogue.reply import NOT_RECORDED
from bot.kb.records import AssemblyRecord, LocalGovernmentRecord, PresentationRecord, SocietyRecord

LABELS = {
    "phone": "電話番号",
    "email": "メールアドレス",
    "url": "ウェブサイト（URL）",
    "materials": "発表資料（スライド・動画など）",
    "demo": "発表の進め方（画面の実演など）",
    "capacity": "定員",
    "application": "申込方法",
    "founded": "発足の時期",
    "members": "会員数・加盟団体",
    "fullname": "フルネーム",
    "title": "役職",
    "product": "製品名・システム名",
    "period": "期間",
    "budget": "費用・金額",
    "fee": "参加費（料金）",
    "access": "行き方（最寄り駅・駐車場・館内の場所など）",
    "mc": "司会・挨拶",
    "participants": "参加した自治体の名称（一覧）",
    "social": "懇親会",
    "representative": "代表者（会長など）",
    "population": "人口・首長などの情報",
    "speaker_name": "氏名",
    "department": "所属部署",
    "company": "企業としての情報（株価・本社など）",
    "contact": "連絡先",
    "address": "所在地",
    "hours": "受付時間・開館時間",
    "reception": "受付開始（開場）の時刻",
    "ratio": "割合（パーセント）",
    "when_done": "実施時期",
    "where_done": "実施場所",
    "names": "具体的な名称",
    "purpose": "目的",
    "secretariat": "事務局",
    "organizer": "主催者",
    "reactions": "参加者の感想",
    "plan": "今後の予定",
    "partners": "連携先",
    "requirement": "条件",
    "result": "成果",
    "figures": "数値",
}

# Details no record of the knowledge base holds (the schema has no place for them).
NEVER_RECORDED = frozenset({
    "department", "company",
    "email", "materials", "capacity", "application", "founded", "members", "period", "budget", "access", "mc",
    "participants", "social", "representative", "population", "reception", "ratio",
})
# Details people ask that a record may lack: asked of a record that has no value, the reply says so.
GAP_DETAILS = NEVER_RECORDED | {"phone", "url", "fee", "fullname", "speaker_name", "title", "product", "department",
                                "company"}


def assembly_missing(a: AssemblyRecord, attribute: str | None) -> bool:
    if attribute not in GAP_DETAILS:
        return False
    if attribute == "fee":
        return not (a.event_field("料金(基本)") or a.event_field("料金(詳細)"))
    if attribute == "capacity":
        return not a.event_field("定員")
    if attribute == "phone":
        return not a.event_field("連絡先電話番号")
    if attribute == "url":
        return not a.event_field("URL")
    return True


def presentation_missing(p: PresentationRecord, attribute: str | None) -> bool:
    if attribute in NEVER_RECORDED or attribute in ("phone", "url", "fee"):
        return True
    if attribute in ("speaker_name", "fullname"):
        return not p.speaker or attribute == "fullname"
    if attribute == "title":
        return not p.speaker_title
    if attribute == "product":
        return product_name(p) is None
    if attribute == "demo":  # 「何を見せながら説明した」: only a fact of the kind 様子 says
        return not any("様子" in f.kinds for f in p.facts)
    return False


def society_missing(s: SocietyRecord, attribute: str | None) -> bool:
    if attribute == "hours":
        return not s.hours
    if attribute == "address":  # the report names the secretariat's department, not its address
        return True
    if attribute == "department":
        return not s.secretariat_department
    if attribute not in GAP_DETAILS:
        return False
    if attribute == "phone":
        return not s.phone
    if attribute == "url":
        return not s.url
    return True


def municipality_missing(attribute: str | None) -> bool:
    return attribute in GAP_DETAILS


_PRODUCT_WORDS = ("サービス", "システム", "プラットフォーム", "ツール", "アプリ")


def product_name(p: PresentationRecord) -> str | None:
    """The name of the product or system a presentation is about, when its topics give one."""
    named = [t for t in p.topics if t.endswith(_PRODUCT_WORDS) and len(t) > 6 and t in p.summary]
    return max(named, key=len) if named else None


def not_recorded(source: str, subject: str, attribute: str, nearby: str = "", contact: str = "") -> str:
    """「第7回総会報告には、富士通株式会社の発表者の氏名の記載がありません。」 and what helps next."""
    label = LABELS.get(attribute, "お尋ねの点")
    text = f"{source}には、{subject}の{label}{NOT_RECORDED}。"
    if nearby:
        text += nearby
    if contact:
        text += f"詳しくは{contact}にお問い合わせください。"
    return text


def assembly_nearby(a: AssemblyRecord, attribute: str) -> str:
    """What the report does record next to a detail it lacks, without giving another detail's value."""
    if attribute in ("materials", "mc", "social"):
        return f"記載されているのは、開催概要と{len(a.presentations)}件の発表の内容、参加者の感想です。"
    if attribute == "participants":
        return "記載されているのは参加した自治体の数だけです。"
    if attribute == "access":
        return f"会場名（{a.venue}）と所在地はお答えできます。"
    if attribute == "reception" and hours_text(a):
        return f"記載されているのは開催時間（{hours_text(a)}）です。"
    return ""


def presentation_nearby(p: PresentationRecord, attribute: str, question: str) -> str:
    if attribute in ("speaker_name", "fullname", "title"):
        if p.speaker:
            return f"記載されているのは「{p.speaker}{p.speaker_title}」（{p.presenter_label}）までです。"
        return f"記載されているのは、発表した団体が{p.presenter_label}であることです。"
    if attribute == "product":
        return f"発表の概要：{p.summary}"
    if attribute == "budget":
        cost = [f.text for f in p.facts if any(w in f.text for w in ("コスト", "費用", "経費", "予算"))]
        if cost:
            return "記載されているのは次の点です：" + "".join(cost)
    return f"発表「{p.title}」の概要はお答えできます。"


def with_source(text: str, source: str) -> str:
    return f"{text}\n{source_line(source)}"


def society_nearby(s: SocietyRecord, attribute: str) -> str:
    if attribute in ("phone", "email", "url", "representative"):
        if not s.secretariat_department:
            return ""
        return f"記載されている事務局は{s.secretariat}（{s.secretariat_department}）です。"
    if attribute == "founded":
        return f"記載されているのは、{s.purpose}をめざして発足したという目的です。"
    return ""


def lg_nearby(lg: LocalGovernmentRecord) -> str:
    return f"お答えできるのは、{lg.full_name}の全国地方公共団体コード（{lg.code}）と都道府県です。"
