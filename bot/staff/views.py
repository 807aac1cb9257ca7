"""The desk's pages: login and logout, look-up (/), municipality suggestions, audit log (the data page: data_page.py).

Handlers run their blocking work (database, Sudachi, Argon2) on the app's worker threads
(:func:`bot.staff.app.in_thread`). Pages are Jinja2 templates with autoescaping: every value from a
request or the database is shown as text.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sanic import Blueprint, response
from sanic.request import Request

from bot.kb import staff as store
from bot.staff import accounts, lookup
from bot.staff.sessions import COOKIE, Current, clear_cookie, set_cookie

TEMPLATES = Path(__file__).resolve().parent / "templates"
# every template escapes
ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined, trim_blocks=True,
                  lstrip_blocks=True, autoescape=select_autoescape(default=True, default_for_string=True))

EXPIRED = "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
LOGGED_OUT = "ログアウトしました。"
LOGIN_FIRST = "この画面を使うにはログインしてください。"
EDITORS_ONLY = "この画面は編集者（editor）の権限があるアカウントだけが使えます。"
NOTICES = {"expired": EXPIRED, "logout": LOGGED_OUT, "login": LOGIN_FIRST}
ACTIONS = {
    "login": "ログイン", "logout": "ログアウト", "login_failed": "ログイン失敗", "account_locked": "アカウントのロック",
    "login_refused_locked": "ロック中のログイン", "account_created": "アカウントの作成",
    "password_set": "パスワードの再設定",
    "data_checked": "データの検査・変更の用意", "data_refused": "データの受付拒否", "data_published": "データの公開",
    "data_rolled_back": "版の差し戻し", "data_conflict": "公開の競合", "retraining": "再学習",
    "download": "ダウンロード",
}

bp = Blueprint("staff_pages")


def render(request: Request, name: str, status: int = 200, **context) -> response.HTTPResponse:
    current = request.ctx.current
    context.setdefault("account", current.account)
    context.setdefault("csrf_token", request.app.ctx.sessions.csrf_token(current.csrf_key))
    context.setdefault("active", "")
    return response.html(ENV.get_template(name).render(**context), status=status)


def error_page(request: Request, status: int, message: str) -> response.HTTPResponse:
    if not hasattr(request.ctx, "current"):  # refused before the session was read
        request.ctx.current = Current()
    return render(request, "error.html", status=status, message=message, status_code=status)


def is_secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.scheme == "https" or forwarded == "https"


def safe_next(target: str | None) -> str:
    """A local path to go back to after login, or "/" (never another site: //evil.example, https:…)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 2000:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 0x20 for ch in target):
        return "/"
    return target


def requires(role: str | None = None, json_api: bool = False):
    """The page needs a logged-in account (and, with ``role="editor"``, an editor)."""
    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(request: Request, *args, **kwargs):
            current = request.ctx.current
            if current.account is None:
                if json_api:
                    return response.json({"error": LOGIN_FIRST}, status=401, dumps=_dumps)
                reason = "expired" if current.expired else "login"
                here = request.path + (f"?{request.query_string}" if request.query_string else "")
                return response.redirect(f"/login?notice={reason}&next={quote(here, safe='')}", status=303)
            if role == "editor" and not current.account.is_editor:
                return error_page(request, 403, EDITORS_ONLY)
            return await handler(request, *args, **kwargs)
        return wrapper
    return decorate


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _in_thread(request: Request, fn, *args):
    return request.app.ctx.in_thread(fn, *args)


# -- login and logout ------------------------------------------------------------------------------

@bp.get("/login")
async def login_form(request: Request):
    if request.ctx.current.account is not None:
        return response.redirect(safe_next(request.args.get("next")), status=303)
    return _login_page(request, notice=NOTICES.get(request.args.get("notice", ""), ""))


def _login_page(request: Request, status: int = 200, notice: str = "", error: str = "", username: str = ""):
    if not request.ctx.current.pre_nonce:  # the login form's CSRF token is bound to this browser's nonce
        nonce, cookie = request.app.ctx.sessions.new_pre_cookie()
        request.ctx.current = dataclasses.replace(request.ctx.current, pre_nonce=nonce)
        request.ctx.set_pre_cookie = cookie
    target = request.form.get("next") if request.method == "POST" else request.args.get("next")
    return render(request, "login.html", status=status, notice=notice, error=error, username=username,
                  next=safe_next(target))


@bp.post("/login")
async def login(request: Request):
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    if not username or not password:
        return _login_page(request, 400, error="ユーザー名とパスワードを入力してください。", username=username[:64])
    if len(username) > 64 or len(password) > accounts.MAX_PASSWORD_CHARS:
        return _login_page(request, 401, error=accounts.WRONG, username=username[:64])
    result = await _in_thread(request, accounts.authenticate, username, password, request.ip or "",
                              request.app.ctx.db_url)
    if result.account is None:
        return _login_page(request, 423 if result.locked else 401, error=result.message, username=username)
    cookie = await _in_thread(request, request.app.ctx.sessions.start, result.account)
    reply = response.redirect(safe_next(request.form.get("next")), status=303)
    set_cookie(reply, COOKIE, cookie, is_secure(request))
    return reply


@bp.post("/logout")
async def logout(request: Request):
    current = request.ctx.current
    if current.account is not None:
        await _in_thread(request, request.app.ctx.sessions.end, current)
        await _in_thread(request, functools.partial(store.audit, "logout", account=current.account.name,
                                                    address=request.ip or "", now=time.time(),
                                                    url=request.app.ctx.db_url))
    reply = response.redirect("/login?notice=logout", status=303)
    clear_cookie(reply, COOKIE, is_secure(request))
    return reply


# -- look-up ---------------------------------------------------------------------------------------

@bp.get("/")
@requires()
async def lookup_page(request: Request):
    query = request.args.get("q", "")
    place = request.args.get("lg", "")
    page = await _in_thread(request, lookup.run, query, place, request.app.ctx.db_url)
    return render(request, "lookup.html", page=page, active="lookup")


@bp.get("/municipalities")
@requires(json_api=True)
async def municipalities(request: Request):
    found = await _in_thread(request, lookup.suggestions, request.args.get("q", ""), request.app.ctx.db_url)
    items = [{"value": mu.option, "label": mu.reading} for mu in found]
    return response.json({"suggestions": items}, dumps=_dumps)


# -- audit log ----------------------------------------------------------------------------

@bp.get("/audit")
@requires()
async def audit_page(request: Request):
    entries = await _in_thread(request, store.audit_entries, 200, request.app.ctx.db_url)
    rows = [{
        "at": dt.datetime.fromtimestamp(e.at, lookup.JST).strftime("%Y-%m-%d %H:%M:%S"),
        "account": e.account, "action": ACTIONS.get(e.action, e.action), "detail": e.detail,
        "version": e.kb_version[:8], "address": e.address,
    } for e in entries]
    return render(request, "audit.html", rows=rows, active="audit")


@bp.get("/healthz")
async def health(_: Request):
    return response.json({"status": "ok"})
