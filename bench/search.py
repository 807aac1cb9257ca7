"""Staff FAQ look-up benchmark: build time, per-query latency and memory of bot.search.

Generates a FAQ of N entries (default 10,000) from Japanese templates — 60 municipalities, 10
categories, about 100 topics, question / paraphrase / answer patterns — into a temporary SQLite
database that also holds the shipped data/kb (national master, assemblies, presentations), builds
the index and runs Q queries (default 500: paraphrased questions, short keywords, half of them
filtered by 団体コード, a few with no match).

    .venv/bin/python bench/search.py [--entries 10000] [--queries 500] [--seed 7]

Prints build time, index size, memory (tracemalloc: retained by the index and peak while building),
p50/p95/p99/max latency of SearchIndex.search, and the same through search() with the per-URL cache
checking the data signature on every call (the worst case of the cache). Target: p95 < 20 ms.
"""
from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from bot.kb import models as m  # noqa: E402
from bot.kb import search_source  # noqa: E402
from bot.kb.db import dispose_all, open_session  # noqa: E402
from bot.kb.faq import upsert_faq  # noqa: E402
from bot.kb.loader import DEFAULT_DATA_DIR, load  # noqa: E402
from bot.search import analyzer as search_analyzer  # noqa: E402
from bot.search import index as search_index  # noqa: E402

TOPICS = {
    "戸籍・住民票": ["住民票の写し", "戸籍謄本", "戸籍抄本", "印鑑登録証明書", "転入届", "転出届", "転居届", "婚姻届",
               "出生届",
                "死亡届", "戸籍の附票", "住民票記載事項証明書", "印鑑登録"],
    "子育て・保育": ["保育園の入園", "学童保育", "児童手当", "子ども医療費助成", "一時保育", "病児保育", "妊婦健診",
               "乳幼児健診",
                "産後ケア", "児童扶養手当", "ファミリーサポート"],
    "税": ["住民税", "固定資産税", "軽自動車税", "納税証明書", "課税証明書", "市税の口座振替", "都市計画税",
          "市税の延滞金",
          "税の減免", "ふるさと納税"],
    "国民健康保険": ["国民健康保険の加入", "国民健康保険の脱退", "国民健康保険税", "高額療養費", "特定健診",
               "保険証の再発行",
                "出産育児一時金", "葬祭費", "限度額適用認定証"],
    "ごみ": ["粗大ごみ", "燃やせるごみ", "資源ごみ", "プラスチック製容器包装", "家電リサイクル", "ごみの分別",
           "生ごみ処理機の補助",
           "ごみ収集カレンダー", "不法投棄", "小型家電の回収"],
    "マイナンバーカード": ["マイナンバーカードの申請", "マイナンバーカードの受け取り", "暗証番号の再設定",
                  "電子証明書の更新",
                    "マイナンバーカードの紛失", "コンビニ交付", "マイナンバーカードの休日交付", "マイナポイント"],
    "窓口業務": ["窓口の受付時間", "休日開庁", "窓口の混雑状況", "オンライン申請", "窓口の予約", "代理人による手続き",
             "郵送による請求", "支所の取扱業務", "総合窓口"],
    "福祉": ["障害者手帳", "生活保護の相談", "高齢者の見守り", "福祉タクシー券", "補装具の給付", "日常生活用具",
           "成年後見制度"],
    "介護保険": ["要介護認定", "介護保険料", "介護サービスの利用", "介護保険証の再発行", "地域包括支援センター",
             "住宅改修費の支給"],
    "防災": ["ハザードマップ", "避難所の場所", "防災無線", "備蓄品", "家具転倒防止器具の補助", "耐震診断"],
}
DEPARTMENTS = {
    "戸籍・住民票": "市民課", "子育て・保育": "子育て支援課", "税": "税務課", "国民健康保険": "保険年金課",
    "ごみ": "環境課",
    "マイナンバーカード": "市民課", "窓口業務": "総合案内", "福祉": "福祉課", "介護保険": "介護保険課",
    "防災": "危機管理課",
}
QUESTIONS = [
    "{t}の手続きを教えてください", "{t}はどこで申請できますか", "{t}に必要な書類は何ですか",
    "{t}の手数料はかかりますか",
    "{t}の受付時間を知りたい", "{t}は郵送でも手続きできますか", "{t}はオンラインで申請できますか",
    "{t}を代理人が手続きするには",
    "{t}の期限はいつまでですか", "{t}について相談したい", "{t}の申請書はどこで入手できますか",
    "{t}は土日も受け付けていますか",
    "{t}の対象になるのはどんな人ですか", "{t}の結果はいつわかりますか", "{t}の内容を変更したい",
    "{t}の制度が変わったと聞きました",
]
PARAPHRASES = [
    "{t}をしたい", "{t}のやり方", "{t}の方法", "{t}の窓口はどこ", "{t}の持ち物", "{t}のお問い合わせ先", "{t}の流れ",
    "{t}について",
]
ANSWER_SENTENCES = [
    "{t}の手続きは{d}で受け付けています。", "本人確認書類（マイナンバーカード、運転免許証など）をお持ちください。",
    "受付時間は平日の8時30分から17時15分までです。", "郵送での手続きもできます。詳しくはホームページをご覧ください。",
    "代理人が手続きする場合は委任状が必要です。", "オンラインでの申請にはマイナンバーカードが必要です。",
    "申請から結果のお知らせまで、2週間程度かかることがあります。", "手数料がかかる場合があります。",
    "混雑する時期は待ち時間が長くなります。時間に余裕を持ってお越しください。",
    "ご不明な点は{d}までお問い合わせください。",
    "対象となる方には、事前に案内をお送りしています。",
    "期限を過ぎると手続きできない場合がありますのでご注意ください。",
]
FACILITIES = ["{n}市民センター", "{n}駅前出張所", "{n}北支所", "{n}南支所", "{n}東部行政センター", "{n}西部連絡所",
              "{n}子育て支援センター", "{n}保健センター", "{n}清掃事務所"]
KEYWORD_QUERIES = ["{t}", "{t} 必要書類", "{t} 郵送", "{t}の期限", "{t} 窓口", "{t}はどこ", "{t}をオンラインで"]
NO_MATCH_QUERIES = ["今日の天気は", "おすすめのラーメン屋", "😀", "", "サッカーの試合結果", "xyz"]


def municipality_codes(session, count: int, rng: random.Random) -> list[tuple[str, str]]:
    rows = session.execute(
        select(m.LocalGovernment.code, m.LocalGovernment.name).where(m.LocalGovernment.is_prefecture.is_(False))
        .order_by(m.LocalGovernment.code)
    ).all()
    return [tuple(r) for r in rng.sample(rows, count)]


def generate_entries(n: int, municipalities: list[tuple[str, str]], rng: random.Random) -> list[m.FaqEntry]:
    entries, seen = [], set()
    pairs = [(cat, t) for cat, topics in TOPICS.items() for t in topics]
    while len(entries) < n:
        code, name = rng.choice(municipalities) if rng.random() < 0.9 else (None, "")
        category, topic = rng.choice(pairs)
        question = rng.choice(QUESTIONS).format(t=topic)
        if name and rng.random() < 0.3:
            question = f"{name}の{question}"
        if (code, question) in seen:
            continue
        seen.add((code, question))
        department = DEPARTMENTS[category]
        answer = "".join(s.format(t=topic, d=department) for s in rng.sample(ANSWER_SENTENCES, rng.randint(2, 4)))
        if name:
            answer += (f"窓口は{name}役所{rng.randint(1, 8)}階の{department}、"
                       f"または{rng.choice(FACILITIES).format(n=name)}です。")
        alternatives = "|".join(p.format(t=topic) for p in rng.sample(PARAPHRASES, rng.randint(1, 3)))
        entries.append(m.FaqEntry(
            lg_code=code, category=category, question=question, alternatives=alternatives, answer=answer,
            department=department, phone=f"0120-000-{rng.randint(0, 999):03d}",
            url=f"https://example.jp/bench/{len(entries)}", checked_on=None, source="bench",
        ))
    return entries


def generate_queries(n: int, municipalities: list[tuple[str, str]], rng: random.Random) -> list[tuple[str, str | None]]:
    topics = [t for ts in TOPICS.values() for t in ts]
    queries = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.04:
            text = rng.choice(NO_MATCH_QUERIES)
        elif roll < 0.5:
            text = rng.choice(QUESTIONS + PARAPHRASES).format(t=rng.choice(topics))
        else:
            text = rng.choice(KEYWORD_QUERIES).format(t=rng.choice(topics))
        code = rng.choice(municipalities)[0] if rng.random() < 0.5 else None
        queries.append((text, code))
    return queries


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def report(label: str, seconds: list[float]) -> float:
    ms = [s * 1000 for s in seconds]
    p95 = percentile(ms, 95)
    print(f"{label}: p50 {percentile(ms, 50):.3f} ms  p95 {p95:.3f} ms  p99 {percentile(ms, 99):.3f} ms  "
          f"max {max(ms):.3f} ms  mean {statistics.mean(ms):.3f} ms  (n={len(ms)})")
    return p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--target-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        t0 = time.perf_counter()
        load(DEFAULT_DATA_DIR, url=url)
        with open_session(url) as session:
            municipalities = municipality_codes(session, 60, rng)
            entries = generate_entries(args.entries, municipalities, rng)
            upsert_faq(session, entries)
            session.commit()
            faq_count = session.query(m.FaqEntry).count()
        print(f"database: {faq_count:,} FAQ entries (generated {args.entries:,}) + shipped data/kb, "
              f"prepared in {time.perf_counter() - t0:.1f} s")

        search_analyzer.ANALYZER.terms("準備")  # load the Sudachi dictionary outside the timings
        with open_session(url) as session:
            t0 = time.perf_counter()
            index = search_index.SearchIndex.build(session)
            build_s = time.perf_counter() - t0
        print(f"index build: {build_s:.2f} s  ({len(index):,} documents, {index.vocabulary_size:,} terms)")

        del index
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        with open_session(url) as session:
            index = search_index.SearchIndex.build(session)
        gc.collect()
        retained, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"index memory (tracemalloc): {(retained - before) / 2**20:.1f} MiB retained, "
              f"{(peak - before) / 2**20:.1f} MiB peak while building")

        queries = generate_queries(args.queries, municipalities, rng)
        for text, code in queries[:20]:  # warm-up
            index.search(text, lg_code=code)
        timings, hits = [], 0
        for text, code in queries:
            t0 = time.perf_counter()
            result = index.search(text, lg_code=code, limit=5)
            timings.append(time.perf_counter() - t0)
            hits += bool(result)
            if code:
                assert all(h.lg_code in (None, code) for h in result)
        print(f"queries: {len(queries)} ({sum(1 for _, c in queries if c)} with 団体コード), {hits} with at least one "
              "hit")
        p95 = report("SearchIndex.search", timings)

        search_index.invalidate(url)
        search_index.index_for(url)  # build once into the cache
        cached = []
        for text, code in queries:
            t0 = time.perf_counter()
            search_index.index_for(url, check_interval=0).search(text, lg_code=code, limit=5)
            cached.append(time.perf_counter() - t0)
        report("index_for(check_interval=0).search (signature checked every call)", cached)
        with open_session(url) as session:
            sig = []
            for _ in range(50):
                t0 = time.perf_counter()
                search_source.signature(session)
                sig.append(time.perf_counter() - t0)
        report("  of which the data signature query", sig)

        verdict = "OK" if p95 < args.target_ms else "NOT MET"
        print(f"target p95 < {args.target_ms:g} ms: {verdict}")
        search_index.invalidate(url)
        dispose_all()
    return 0 if p95 < args.target_ms else 1


if __name__ == "__main__":
    sys.exit(main())
