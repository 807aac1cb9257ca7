"""The staff desk's Sanic app: sessions and CSRF on every request, security headers, Japanese error pages.

``create_app(db_url)`` builds it; ``python -m bot.staff`` serves it (see ``bot/staff/__main__.py``).

- Every request's cookies are read into ``request.ctx.current`` (:class:`bot.staff.sessions.Current`).
- Every POST must carry the form field ``csrf_token`` made for this browser's session (or, before login,
  its pre-login cookie): otherwise 403 with a Japanese page, before any route runs.
- Every answer gets a Content-Security-Policy that allows only the desk's own script and style (nothing
  is fetched from elsewhere), ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` (the look-up's
  URL holds what a resident asked), ``Cache-Control: no-store`` for pages, and ``Server-Timing: app;dur=…``.
- The request-head checks of the public channels (bot.channels.guard: Content-Length sanity, size) apply.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sanic import Sanic
from sanic.exceptions import MethodNotSupported, NotFound, SanicException
from sanic.request import Request

from bot.channels import guard
from bot.staff import data_page, downloads, report_page, views
from bot.staff.sessions import PRE_COOKIE, Current, Sessions, idle_seconds, secret, set_cookie

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
NO_CSRF = ("送信を受け付けられませんでした（確認用のトークンがないか、正しくありません）。"
           "ページを再読み込みしてから、もう一度お試しください。")
NOT_FOUND = "お探しのページが見つかりません。"
NOT_ALLOWED = "この方法ではこのページを使えません。"
FAILED = "申し訳ありません。処理中にエラーが発生しました。時間をおいてもう一度お試しください。"
TOO_LARGE = "送信された内容が大きすぎます。検索語を短くしてからお試しください。"
BAD_REQUEST = "送信された内容を読み取れませんでした。ページを再読み込みしてから、もう一度お試しください。"
_SKIP_SESSION = ("/static/", "/healthz")


def create_app(db_url: str | None = None, env=os.environ, name: str = "madoguchi_staff") -> Sanic:
    app = Sanic(name)
    guard.protect(app)
    app.ctx.db_url = db_url
    app.ctx.sessions = Sessions(secret(env), idle_seconds(env), db_url)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="staff")

    def in_thread(fn, *args):
        return asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args))

    app.ctx.in_thread = in_thread
    app.blueprint(views.bp)
    app.blueprint(report_page.bp)  # the report page (bot/staff/report_page.py)
    app.blueprint(downloads.bp)  # CSV downloads (bot/staff/downloads.py)
    data_page.install(app)
    app.static("/static/staff.css", str(STATIC / "staff.css"), name="staff_css", content_type="text/css; charset=utf-8")
    app.static("/static/staff.js", str(STATIC / "staff.js"), name="staff_js",
               content_type="text/javascript; charset=utf-8")

    @app.on_request
    async def read_session(request: Request):
        request.ctx.t0 = time.perf_counter()
        request.ctx.set_pre_cookie = ""
        if request.path.startswith(_SKIP_SESSION):
            request.ctx.current = Current()
            return None
        request.ctx.current = await in_thread(app.ctx.sessions.current, dict(request.cookies))
        if request.method == "POST":
            token = request.form.get("csrf_token") if request.form else None
            if not app.ctx.sessions.csrf_ok(request.ctx.current.csrf_key, token):
                return views.error_page(request, 403, NO_CSRF)
        return None

    @app.on_response
    async def headers(request: Request, reply):
        reply.headers["Content-Security-Policy"] = CSP
        reply.headers["X-Content-Type-Options"] = "nosniff"
        reply.headers["X-Frame-Options"] = "DENY"
        reply.headers["Referrer-Policy"] = "no-referrer"
        if not request.path.startswith("/static/"):
            reply.headers["Cache-Control"] = "no-store"
        if getattr(request.ctx, "set_pre_cookie", ""):
            set_cookie(reply, PRE_COOKIE, request.ctx.set_pre_cookie, views.is_secure(request))
        t0 = getattr(request.ctx, "t0", None)
        if t0 is not None:
            reply.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t0) * 1000:.2f}"

    @app.exception(NotFound)
    async def not_found(request: Request, _exc):
        return views.error_page(request, 404, NOT_FOUND)

    @app.exception(MethodNotSupported)
    async def not_allowed(request: Request, _exc):
        return views.error_page(request, 405, NOT_ALLOWED)

    @app.exception(guard.Refused)
    async def refused(request: Request, exc: guard.Refused):
        return views.error_page(request, exc.status, exc.message)

    @app.exception(Exception)
    async def failed(request: Request, exc: Exception):
        status = getattr(exc, "status_code", 500) if isinstance(exc, SanicException) else 500
        if status < 500:
            message = TOO_LARGE if status == 413 else NOT_ALLOWED if status in (403, 405) else BAD_REQUEST
            return views.error_page(request, status, message)
        logger.exception("staff desk: %s %s failed", request.method, request.path)
        return views.error_page(request, 500, FAILED)

    @app.after_server_stop
    async def stop_threads(_app, _loop):
        executor.shutdown(wait=False)

    return app
