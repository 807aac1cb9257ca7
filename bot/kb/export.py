"""``madoguchi kb export --format json``: the knowledge base (without the national master) as JSON."""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.kb import models as m
from bot.kb.queries import all_assemblies


def export_json(session: Session) -> str:
    society = session.scalars(select(m.Society).order_by(m.Society.name)).all()
    orgs = session.scalars(
        select(m.Organization).options(selectinload(m.Organization.aliases)).order_by(m.Organization.name)
    ).all()
    faq = session.scalars(select(m.FaqEntry).order_by(m.FaqEntry.lg_code, m.FaqEntry.question)).all()
    fields = {
        a.number: {f.column: f.value for f in a.event_fields}
        for a in session.scalars(select(m.Assembly).options(selectinload(m.Assembly.event_fields)))
    }
    data = {
        "society": [
            {"名称": s.name, "目的": s.purpose, "役割": s.role, "事務局": s.secretariat,
             "事務局部署": s.secretariat_department,
             "事務局団体コード": s.secretariat_lg_code, "出典": s.source,
             **{k: v for k, v in (("連絡先電話番号", s.phone), ("受付時間", s.hours), ("URL", s.url)) if v}}
            for s in society
        ],
        "organizations": [
            {"名称": o.name, "種別": o.kind, "別名": sorted(a.alias for a in o.aliases), "団体コード": o.lg_code}
            for o in orgs
        ],
        "assemblies": [
            {
                "回": a.number, "イベント名": a.name, "開始日": a.start_date.isoformat(),
                "終了日": a.end_date.isoformat(),
                "開始時間": a.start_time.strftime("%H:%M") if a.start_time else None,
                "終了時間": a.end_time.strftime("%H:%M") if a.end_time else None,
                "説明": a.description, "場所名称": a.venue, "住所": a.address, "主催者": a.organizer,
                "参加団体数": a.lg_count, "参加者数": a.participant_count, "規模": a.scale_note,
                "感想": list(a.reactions),
                "今後の運営": a.outlook, "出典": a.source, "イベント一覧の他の列": fields.get(a.number, {}),
                "発表": [
                    {
                        "順番": p.order, "題目": p.title, "発表団体": list(p.presenters), "発表者": p.speaker,
                        "発表者役職": p.speaker_title, "概要": p.summary, "話題": list(p.topics),
                        "関係自治体": [{"名称": n, "役割": r, "団体コード": c} for n, r, c in p.municipalities],
                        "連携先": list(p.partners), "事実": [{"種類": list(f.kinds), "内容": f.text} for f in p.facts],
                        "感想": list(p.reactions), "会場の反応": list(p.audience_notes), "出典": p.source,
                    }
                    for p in a.presentations
                ],
            }
            for a in all_assemblies(session)
        ],
        "faq": [
            {"全国地方公共団体コード": f.lg_code, "分類": f.category, "質問": f.question, "質問_別表現": f.alternatives,
             "回答": f.answer, "担当部署": f.department, "連絡先電話番号": f.phone, "URL": f.url,
             "最終確認日": f.checked_on.isoformat() if f.checked_on else None}
            for f in faq
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
