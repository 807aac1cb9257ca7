"""The data page (editors only): upload a file, see its problems or what it would change, publish, list the
versions and roll back, add, edit or retire one FAQ entry (issue 18, section 5).

Every change takes the same three steps: it is *checked* (a file by ``kb validate``'s own loader against a
scratch copy, an entry by the FAQ reader; :mod:`bot.kb.staging`), *previewed* (added, changed with old → new,
removed; :mod:`bot.kb.content`) and *published* in one transaction as a new version (:mod:`bot.kb.versions`),
which the running guide answers from at once. Publishing from a version that is no longer current is refused
with a conflict. Every step that changes data, and every refusal, is written to the audit log.

``install(app)`` registers the blueprint and lets ``/data/upload`` (only that path) take a body of up to
:data:`UPLOAD_BODY_BYTES`: a data file may be 20 MB (bot.kb.files.MAX_FILE_BYTES), the desk's other routes
stay at bot.channels.guard's 1 MB.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path
from urllib.parse import urlencode

from sanic import Blueprint, response
from sanic.request import Request

from bot.kb import content as kb_content
from bot.kb import staff as store
from bot.kb import staging, versions
from bot.kb.files import MAX_FILE_BYTES, LoadError, Problem
from bot.staff import lookup, retraining
from bot.staff.views import error_page, render, requires

bp = Blueprint("staff_data")
logger = logging.getLogger(__name__)
UPLOAD_PATH = "/data/upload"
UPLOAD_BODY_BYTES = MAX_FILE_BYTES + 1024 * 1024  # the file and the form around it
SHOWN_CHANGES = 200  # per list on the preview; more are counted
TOO_LARGE = (f"ファイルが大きすぎます。{MAX_FILE_BYTES // (1024 * 1024)}MB までのファイルを選んでください。"
             "何も変更していません。")
NO_FILE = "ファイルが選ばれていません。アップロードするファイルを選んでください。"
GONE = ("この変更の確認画面は見つかりません（公開済みか、取りやめたか、1日以上前のものです）。"
        "もう一度アップロードしてください。")
NOTICES = {
    "published": "版 {version} として公開しました。案内はこの内容で回答しています。",
    "discarded": "変更を取りやめました。データは変わっていません。",
}


def install(app) -> None:
    """Registers the data page on the desk's app (after :func:`bot.channels.guard.protect`), with the
    upload route's body limit for this app only. Sanic's REQUEST_MAX_SIZE is per app: chunked bodies on the
    desk's other routes may then be as large as an upload."""
    app.blueprint(bp)
    app.config.REQUEST_MAX_SIZE = max(int(app.config.REQUEST_MAX_SIZE), UPLOAD_BODY_BYTES)
    app.ctx.body_limits = ((UPLOAD_PATH, UPLOAD_BODY_BYTES), *app.ctx.body_limits)

    @app.after_server_start
    async def names_the_model_never_saw(app_, _loop):
        # After a redeploy the guide's model may be older than the published data (an image trained on
        # data/kb while kb-load kept what the desk published): the check made after a publish, once at start.
        await app_.ctx.in_thread(_retrain_at_start, app_.ctx.db_url)

    @app.before_server_stop
    async def stop_training(_app, _loop):
        retraining.stop()


def _retrain_at_start(url: str | None) -> None:
    try:
        record = versions.current(url)
        audit = functools.partial(_audit_as, "（起動時の確認）", "", url)
        if retraining.after_publish(record.id, url, audit):
            logger.info("the published data (version %s) has names the model has never seen: retraining", record.id)
    except Exception:  # noqa: BLE001 (the desk serves without it; the next publish checks again)
        logger.exception("checking the model against the published data at start failed")


def _in_thread(request: Request, fn, *args, **kwargs):
    return request.app.ctx.in_thread(functools.partial(fn, *args, **kwargs))


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, lookup.JST).strftime("%Y-%m-%d %H:%M")


def _audit(request: Request, action: str, detail: str) -> None:
    store.audit(action, account=request.ctx.current.account.name, detail=detail, address=request.ip or "",
                now=time.time(), url=request.app.ctx.db_url)


def _audit_as(account: str, address: str, url: str | None, action: str, detail: str) -> None:
    store.audit(action, account=account, detail=detail, address=address, now=time.time(), url=url)


def _problem_rows(problems: list[Problem]) -> list[dict]:
    return [{"file": p.file, "row": p.row if p.row is not None else "—", "column": p.column or "—", "reason": p.reason}
            for p in problems]


# -- the page --------------------------------------------------------------------------------------

@bp.get("/data")
@requires(role="editor")
async def data_page(request: Request):
    url = request.app.ctx.db_url
    query = request.args.get("q", "").strip()[:100]
    current, listed, faq = await _in_thread(request, _overview, url, query)
    notice = NOTICES.get(request.args.get("notice", ""), "")
    if notice:
        notice = notice.format(version=request.args.get("version", "")[:10])
    return render(request, "data.html", active="data", current=current,
                  versions=[_version_row(v, current) for v in listed], faq=faq, query=query, notice=notice,
                  training=retraining.status(), max_mb=MAX_FILE_BYTES // (1024 * 1024), when=_when)


def _overview(url: str | None, query: str):
    current = versions.current(url)
    listed = versions.versions(50, url)
    entries = versions.content_of(current.id, url)["faq"]
    if query:
        folded = unicodedata.normalize("NFKC", query)
        entries = [e for e in entries
                   if folded in unicodedata.normalize("NFKC", f"{e['question']} {e['answer']} "
                                                              f"{e['category']} {e.get('lg_code') or ''}")]
    rows = [{"question": e["question"], "category": e["category"], "lg_code": e.get("lg_code") or "",
             "edit": "/data/faq/edit?" + urlencode({"lg_code": e.get("lg_code") or "", "question": e["question"]})}
            for e in entries[:20]]
    return current, listed, {"rows": rows, "total": len(entries)}


def _version_row(v: versions.VersionRecord, current: versions.VersionRecord) -> dict:
    return {"id": v.id, "at": _when(v.created_at), "account": v.account or "—", "kind": v.kind_label,
            "summary": v.summary, "counts": f"+{v.added} / ~{v.changed} / −{v.removed}",
            "is_current": v.id == current.id, "restored_from": v.restored_from}


@bp.get("/data/training")
@requires(role="editor", json_api=True)
async def training(request: Request):
    """The retraining's progress, for the data page's script."""
    s = retraining.status()
    return response.json({"state": s.state, "message": s.message, "done": s.done, "total": s.total,
                          "names": list(s.names), "version": s.version}, dumps=_dumps)


def _dumps(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


# -- upload ----------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def _safe_name(name: str) -> str:
    """The file's own name, without folders or characters a file name cannot hold (the FAQ source)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .") or "upload"
    if len(base) > 100:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: 95 - len(suffix)] + dot + suffix) if dot else base[:100]
    return base


@bp.post(UPLOAD_PATH)
@requires(role="editor")
async def upload(request: Request):
    upload_file = request.files.get("file") if request.files else None
    if upload_file is None or not upload_file.name:
        return _problems_page(request, 400, [Problem("—", None, None, NO_FILE)], "")
    shown = _safe_name(upload_file.name)
    if len(upload_file.body) > MAX_FILE_BYTES:
        await _in_thread(request, _audit, request, "data_refused", f"{shown}: 20MB を超えるファイル")
        return _problems_page(request, 413, [Problem(shown, None, None, TOO_LARGE)], shown)
    if Path(shown).suffix.lower() not in staging.SUFFIXES:
        await _in_thread(request, _audit, request, "data_refused", f"{shown}: 扱えない種類のファイル")
        return _problems_page(request, 415, [Problem(shown, None, None, staging.WRONG_TYPE)], shown)
    replace = request.form.get("mode") == "replace"
    result = await _in_thread(request, _check_and_stage, request.ctx.current.account.name, upload_file.body, shown,
                              replace, request.app.ctx.db_url)
    if isinstance(result, LoadError):
        await _in_thread(request, _audit, request, "data_refused",
                         f"{shown}: 問題 {len(result.problems)}件のため公開できません")
        return _problems_page(request, 422, result.problems, shown)
    token, kind = result
    await _in_thread(request, _audit, request, "data_checked",
                     f"{shown}（{staging.KIND_LABELS[kind]}{'・置き換え' if replace else ''}）を検査しました。"
                     f"確認画面 {token[:8]}")
    return response.redirect(f"/data/preview/{token}", status=303)


def _check_and_stage(account: str, body: bytes, shown: str, replace: bool, url: str | None):
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-upload-"))
    try:
        path = folder / shown
        path.write_bytes(body)
        base = versions.current(url)
        try:
            kind, new = staging.check_upload(path, shown, url, replace_faq=replace)
        except LoadError as exc:
            return exc
        mode = "（置き換え）" if replace and kind == "faq" else ""
        summary = f"{staging.KIND_LABELS[kind]}{mode}: {shown}"
        return versions.stage(account, base.id, "upload", summary, new, url=url), kind
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _problems_page(request: Request, status: int, problems: list[Problem], shown: str):
    return render(request, "data_problems.html", status=status, active="data", problems=_problem_rows(problems),
                  shown=shown, count=len(problems))


# -- preview and publish ---------------------------------------------------------------------------

@bp.get("/data/preview/<token:str>")
@requires(role="editor")
async def preview(request: Request, token: str):
    found = await _in_thread(request, _preview, token, request.app.ctx.db_url)
    if found is None:
        return error_page(request, 404, GONE)
    change, base, changes, current, unseen = found
    lists = {name: (getattr(changes, name)[:SHOWN_CHANGES], len(getattr(changes, name)))
             for name in ("added", "changed", "removed")}
    return render(request, "data_preview.html", active="data", change=change, base=base, changes=changes, lists=lists,
                  current=current, stale=current.id != change.base_id, unseen=sorted(unseen)[:50],
                  unseen_count=len(unseen), when=_when)


def _preview(token: str, url: str | None):
    try:
        change = versions.staged(token, url)
    except versions.NotFound:
        return None
    base = versions.version(change.base_id, url)
    old = versions.content_of(change.base_id, url)
    return change, base, kb_content.diff(old, change.content), versions.current(url), \
        retraining.unseen_names(change.content)


@bp.post("/data/publish")
@requires(role="editor")
async def publish(request: Request):
    token = (request.form.get("token") or "")[:32]
    url = request.app.ctx.db_url
    try:
        record, changes, summary = await _in_thread(request, _publish, token, request.ctx.current.account.name, url)
    except versions.NotFound:
        return error_page(request, 404, GONE)
    except versions.Conflict as exc:
        await _in_thread(request, _audit, request, "data_conflict", exc.message[:300])
        return render(request, "data_conflict.html", status=409, active="data", message=exc.message)
    restored = f"（版 {record.restored_from} の内容に戻す）" if record.restored_from else ""
    await _in_thread(request, _audit, request, "data_rolled_back" if record.kind == "rollback" else "data_published",
                     f"版 {record.id}{restored}: {summary} — {changes.summary()}（元の版 {record.base_id}）")
    audit = functools.partial(_audit_as, request.ctx.current.account.name, request.ip or "", url)
    await _in_thread(request, retraining.after_publish, record.id, url, audit)
    return response.redirect(f"/data?notice=published&version={record.id}", status=303)


def _publish(token: str, account: str, url: str | None):
    change = versions.staged(token, url)
    record, changes = versions.publish(token, account, url)
    return record, changes, change.summary


@bp.post("/data/discard")
@requires(role="editor")
async def discard(request: Request):
    token = (request.form.get("token") or "")[:32]
    await _in_thread(request, versions.discard, token, request.app.ctx.db_url)
    return response.redirect("/data?notice=discarded", status=303)


@bp.post("/data/versions/<version_id:int>/rollback")
@requires(role="editor")
async def rollback(request: Request, version_id: int):
    url = request.app.ctx.db_url
    token = await _in_thread(request, _stage_rollback, request.ctx.current.account.name, version_id, url)
    if token is None:
        return error_page(request, 404, f"版 {version_id} はありません。")
    await _in_thread(request, _audit, request, "data_checked",
                     f"版 {version_id} への差し戻しを用意しました。確認画面 {token[:8]}")
    return response.redirect(f"/data/preview/{token}", status=303)


def _stage_rollback(account: str, version_id: int, url: str | None):
    try:
        target = versions.content_of(version_id, url)
    except versions.NotFound:
        return None
    base = versions.current(url)
    return versions.stage(account, base.id, "rollback", f"版 {version_id} の内容に戻す", target,
                          restored_from=version_id, url=url)


# -- one FAQ entry ---------------------------------------------------------------------------------

FORM_LIMIT = 5000  # characters per field (回答 is Text; the form is not a file)


def _form_values(source) -> dict[str, str]:
    return {name: (source.get(name) or "")[:FORM_LIMIT] for name in staging.FORM_FIELDS}


@bp.get("/data/faq/new")
@requires(role="editor")
async def faq_new(request: Request):
    """A blank form, or one prefilled from the query string (the report's 「FAQに追加」 links here with
    ``question``, ``category`` and ``lg_code``)."""
    base = await _in_thread(request, versions.current, request.app.ctx.db_url)
    return render(request, "data_faq_form.html", active="data", values=_form_values(request.args), original=None,
                  base_id=base.id, problems=[])


@bp.get("/data/faq/edit")
@requires(role="editor")
async def faq_edit(request: Request):
    original = (request.args.get("lg_code", ""), request.args.get("question", ""))
    found = await _in_thread(request, _entry, original, request.app.ctx.db_url)
    if found is None:
        return error_page(request, 404, "この FAQ の項目は見つかりません（変更または削除された可能性があります）。")
    base, entry = found
    values = {k: "" if entry.get(k) is None else str(entry.get(k)) for k in staging.FORM_FIELDS}
    return render(request, "data_faq_form.html", active="data", values=values, original=original, base_id=base.id,
                  problems=[], source=entry.get("source") or "")


def _entry(original: tuple[str, str], url: str | None):
    base = versions.current(url)
    for entry in versions.content_of(base.id, url)["faq"]:
        if kb_content.faq_key(entry) == original:
            return base, entry
    return None


@bp.post("/data/faq/save")
@requires(role="editor")
async def faq_save(request: Request):
    values = _form_values(request.form)
    original = _original(request)
    base_id = _int(request.form.get("base_id"))
    retire = request.form.get("action") == "retire"
    result = await _in_thread(request, _stage_entry, request.ctx.current.account.name, values, original, base_id,
                              retire, request.app.ctx.db_url)
    if isinstance(result, LoadError):
        return render(request, "data_faq_form.html", status=422, active="data", values=values, original=original,
                      base_id=base_id, problems=_problem_rows(result.problems))
    what = "削除" if retire else ("編集" if original else "追加")
    await _in_thread(request, _audit, request, "data_checked", f"FAQ 1件の{what}を用意しました: "
                     f"{(original or (values['lg_code'], values['question']))[1][:100]}。確認画面 {result[:8]}")
    return response.redirect(f"/data/preview/{result}", status=303)


def _original(request: Request) -> tuple[str, str] | None:
    if request.form.get("original_question") is None:
        return None
    return (request.form.get("original_lg_code") or "", request.form.get("original_question") or "")


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _stage_entry(account: str, values: dict, original, base_id: int | None, retire: bool, url: str | None):
    base = versions.current(url)
    if base_id is not None and base_id != base.id:
        return LoadError([Problem(staging.FORM_NAME, None, None, versions.conflict_message(base_id, base.id))])
    content = versions.content_of(base.id, url)
    try:
        if retire:
            if original is None:
                raise LoadError([Problem(staging.FORM_NAME, None, None, "削除する項目が指定されていません")])
            new, summary = staging.without_entry(content, original), f"FAQ 1件の削除: {original[1]}"
        else:
            new = staging.check_entry(values, content, original, url)
            summary = f"FAQ 1件の{'編集' if original else '追加'}: {values['question'].strip()}"
    except LoadError as exc:
        return exc
    return versions.stage(account, base.id, "entry", summary[:300], new, url=url)
