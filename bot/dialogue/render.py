"""Turns KB records into short, polite Japanese replies. Every fact comes from a record."""
from __future__ import annotations

from bot.kb.dates import format_date_ja, format_time_ja
from bot.kb.records import AssemblyRecord, LocalGovernmentRecord, PresentationRecord, SocietyRecord


def source_line(source: str) -> str:
    return f"（出典：{source}）"


def assembly_label(a: AssemblyRecord) -> str:
    return f"第{a.number}回総会"


def date_text(a: AssemblyRecord) -> str:
    text = format_date_ja(a.start_date)
    if a.end_date and a.end_date != a.start_date:
        text += f"から{format_date_ja(a.end_date)}"
    return text


def hours_text(a: AssemblyRecord) -> str | None:
    if not a.start_time:
        return None
    start = f"{format_time_ja(a.start_time)}（{a.start_time:%H:%M}）"
    if not a.end_time:
        return f"{start}から"
    return f"{start}から{format_time_ja(a.end_time)}（{a.end_time:%H:%M}）まで"


def participation_text(a: AssemblyRecord) -> str | None:
    parts = []
    if a.lg_count is not None:
        parts.append(f"全国{a.lg_count}自治体")
    if a.participant_count is not None:
        parts.append(f"{a.participant_count}名")
    if not parts:
        return None
    text = f"{assembly_label(a)}には{'、'.join(parts)}が参加しました"
    if a.scale_note:
        text += f"。{a.scale_note}となりました"
    return text + "。"


def venue_text(a: AssemblyRecord) -> str:
    return f"{a.venue}（{a.address}）" if a.address else a.venue


def quotes(texts) -> str:
    return "".join(f"「{t.rstrip('。')}。」" for t in texts)


def assembly_answer(a: AssemblyRecord, attribute: str | None) -> str:
    return f"{assembly_body(a, attribute)}\n{source_line(a.source)}"


def assembly_body(a: AssemblyRecord, attribute: str | None) -> str:
    label = assembly_label(a)
    if attribute == "address":
        body = (f"{label}の会場「{a.venue}」の所在地は{a.address}です。" if a.address
                else f"{label}の会場の住所は記載がありません。")
    elif attribute == "hours":
        hours = hours_text(a)
        body = (f"{label}は{date_text(a)}、{hours}開催されました。" if hours
                else f"{label}の開催時間は記載がありません。")
    elif attribute in ("lg_count", "people", "scale"):
        body = participation_text(a) or f"{label}の参加者数は記載がありません。"
    elif attribute == "date":
        body = f"{label}は{date_text(a)}に開催されました。"
    elif attribute == "where":
        body = f"{label}の会場は{venue_text(a)}です。"
    elif attribute == "reactions":
        body = (f"{label}の参加者からは{quotes(a.reactions)}との声が多数寄せられました。" if a.reactions
                else f"{label}の参加者の感想は記載がありません。")
    elif attribute == "plan":
        body = a.outlook or f"{label}の後の予定は記載がありません。"
    elif attribute == "organizer":
        body = f"{label}の主催者は{a.organizer}です。" if a.organizer else f"{label}の主催者は記載がありません。"
    elif attribute == "fee":
        fee = "、".join(v for v in (a.event_field("料金(基本)"), a.event_field("料金(詳細)")) if v)
        body = f"{label}の参加費は{fee}です。" if fee else f"{label}の参加費（料金）は記載がありません。"
    else:
        hours = hours_text(a)
        when = f"{date_text(a)}、{hours}" if hours else f"{date_text(a)}に"
        body = f"{label}は{when}{venue_text(a)}で開催されました。"
        body += participation_text(a) or ""
        if a.presentations:
            body += f"発表は{len(a.presentations)}件でした。"
    return body


def program_answer(a: AssemblyRecord) -> str:
    if not a.presentations:
        return f"{assembly_label(a)}のプログラムは記載がありません。\n{source_line(a.source)}"
    lines = [f"{assembly_label(a)}のプログラムは次のとおりです。"]
    lines += [f"({p.order}) {p.title}（{p.presenter_label}）" for p in a.presentations]
    lines.append(source_line(a.source))
    return "\n".join(lines)


def speaker_text(p: PresentationRecord) -> str:
    person = f"の{p.speaker}{p.speaker_title}" if p.speaker else ""
    return f"{p.presenter_label}{person}"


def presentation_overview(p: PresentationRecord) -> str:
    return f"{speaker_text(p)}による発表「{p.title}」です。{p.summary}"


def presentation_body(p: PresentationRecord, attribute: str | None, facts: list[str]) -> str:
    """The sentences answering ``attribute`` about a presentation (without the source line)."""
    if attribute == "speaker":
        return f"「{p.title}」を発表したのは{speaker_text(p)}です。"
    if attribute in ("title", "speaker_name") and p.speaker:
        return f"「{p.title}」を発表したのは{speaker_text(p)}です。"
    if attribute == "affiliation":
        who = f"{p.speaker}{p.speaker_title}" if p.speaker else "発表者"
        return f"「{p.title}」の{who}の所属は{p.presenter_label}です。"
    if attribute == "product":
        return f"{p.presenter_label}の発表「{p.title}」で紹介されたのは「{_product(p)}」です。{p.summary}"
    if attribute == "reactions":
        parts = [f"「{p.title}」について、参加者からは{quotes(p.reactions)}との声がありました。"] if p.reactions else []
        parts += list(p.audience_notes)
        return "".join(parts) or f"「{p.title}」への参加者の感想は記載がありません。"
    if attribute == "partners" and not facts and p.partners:
        return f"「{p.title}」の連携先は{'、'.join(p.partners)}です。"
    if facts:
        return f"{p.presenter_label}の発表「{p.title}」より：" + "".join(facts)
    if attribute and attribute != "content":
        return (f"お尋ねの点は、{p.presenter_label}の発表「{p.title}」の記録には記載がありません。"
                f"発表の概要：{p.summary}")
    return presentation_overview(p)


def _product(p: PresentationRecord) -> str:
    from bot.dialogue.details import product_name

    return product_name(p) or p.title


def presentation_answer(p: PresentationRecord, attribute: str | None, facts: list[str]) -> str:
    return f"{presentation_body(p, attribute, facts)}\n{source_line(p.source)}"


def presentation_at_assembly_body(p: PresentationRecord, a: AssemblyRecord) -> str:
    return (f"この発表（{p.presenter_label}「{p.title}」）は、{assembly_label(a)}（{date_text(a)}、{venue_text(a)}）"
            "で行われました。")


def presentation_at_assembly(p: PresentationRecord, a: AssemblyRecord) -> str:
    return f"{presentation_at_assembly_body(p, a)}\n{source_line(a.source)}"


def other_presentations(a: AssemblyRecord, others: list[PresentationRecord]) -> str:
    if not others:
        return f"{assembly_label(a)}の発表はこの1件だけです。\n{source_line(a.source)}"
    lines = [f"{assembly_label(a)}では、ほかに次の発表がありました。"]
    lines += [f"({p.order}) {p.title}（{p.presenter_label}）" for p in others]
    lines.append(source_line(a.source))
    return "\n".join(lines)


def society_answer(s: SocietyRecord, attribute: str | None) -> str:
    secretariat = s.secretariat + (f"（{s.secretariat_department}）" if s.secretariat_department else "")
    if attribute == "secretariat":
        body = f"{s.name}の事務局は、{s.secretariat_department or s.secretariat}が担当しています。"
    elif attribute in ("phone", "hours", "url") and getattr(s, attribute):
        label = {"phone": "電話番号", "hours": "受付時間", "url": "URL"}[attribute]
        body = f"{s.name}事務局（{s.secretariat_department or s.secretariat}）の{label}は{getattr(s, attribute)}です。"
    elif attribute == "purpose":
        body = f"{s.name}は、{s.purpose}をめざして発足した研究会です。"
        if s.role:
            body += f"{s.role}としての役割を果たすことを掲げています。"
    else:
        body = f"{s.name}は、{s.purpose}をめざして発足した研究会です。"
        if s.role:
            body += f"{s.role}としての役割を果たすことを掲げています。"
        body += f"事務局は{secretariat}です。"
    return f"{body}\n{source_line(s.source)}"


MASTER_SOURCE = "全国地方公共団体コード一覧"


def lg_answer(lg: LocalGovernmentRecord, attribute: str | None) -> str:
    if lg.is_prefecture:
        body = f"{lg.name}の全国地方公共団体コードは{lg.code}です。"
    elif attribute == "prefecture":
        body = f"{lg.name}は{lg.pref_name}にあります（全国地方公共団体コード {lg.code}）。"
    else:
        body = f"{lg.full_name}の全国地方公共団体コードは{lg.code}です。"
    return f"{body}\n{source_line(MASTER_SOURCE)}"


def lg_by_code_answer(asked: str, lg: LocalGovernmentRecord) -> str:
    if asked != lg.code:
        body = f"{asked}は、検査数字を付けた全国地方公共団体コード{lg.code}の{lg.full_name}です。"
    else:
        body = f"全国地方公共団体コード{lg.code}は{lg.full_name}です。"
    return f"{body}\n{source_line(MASTER_SOURCE)}"
