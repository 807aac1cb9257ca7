"""Staff look-up on the running Rasa server: GET/POST /webhooks/faq_search/search (JSON).

    curl 'localhost:5005/webhooks/faq_search/search?q=住民票の写し&lg_code=131211&limit=5'

Ranks FAQ entries and presentation passages (bot.search, BM25 over the bot's Japanese analyzer).
When MADOGUCHI_SEARCH_TOKEN is set, requests must send ``Authorization: Bearer <token>``.
"""
from __future__ import annotations

import asyncio
import functools
import hmac
import json
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import guard
from bot.search import index as search_index

_dumps = functools.partial(json.dumps, ensure_ascii=False)
MAX_QUERY_CHARS = 1000


def _parameters(request: Request) -> tuple[str, Optional[str], int]:
    """(query, lg_code, limit) from the query string or a JSON body; :class:`guard.Refused` (400) with the
    reason for anything else (before: ``limit: 1e400``, a lone surrogate or deep nesting gave 500)."""
    if request.method == "POST" and (request.body or b"").strip():
        params: Dict[str, Any] = guard.json_object(request.body)
    else:
        params = {k: request.args.get(k) for k in request.args}
    query = params.get("q", params.get("query")) or ""
    if not isinstance(query, str):
        raise guard.Refused(400, "q は文字列で指定してください")
    if len(query) > MAX_QUERY_CHARS:
        raise guard.Refused(400, f"検索語が長すぎます（{MAX_QUERY_CHARS} 文字まで）")
    if guard.has_lone_surrogate(query):
        raise guard.Refused(400, "検索語に読み取れない文字が含まれています")
    lg_code = params.get("lg_code") or None
    if lg_code is not None and not (isinstance(lg_code, str) and len(lg_code) <= 12 and lg_code.isascii()):
        raise guard.Refused(400, "lg_code は6桁の団体コードで指定してください")
    limit = params.get("limit") or 5
    if isinstance(limit, str) and limit.strip().isascii() and limit.strip().isdigit() and len(limit.strip()) <= 4:
        limit = int(limit)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise guard.Refused(400, "limit は整数で指定してください")
    if not 1 <= limit <= search_index.MAX_LIMIT:
        raise guard.Refused(400, f"limit は 1 から {search_index.MAX_LIMIT} までです")
    return query, lg_code, limit


class FaqSearchInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "faq_search"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "FaqSearchInput":
        return cls(token=(credentials or {}).get("token") or None)

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("faq_search_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/search", methods=["GET", "POST"])
        async def search(request: Request) -> HTTPResponse:
            if self.token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {self.token}"):
                return guard.error_response("認証が必要です", 401)
            try:
                query, lg_code, limit = _parameters(request)
            except guard.Refused as refused:
                return guard.refusal_response(refused)
            loop = asyncio.get_running_loop()
            try:  # the first call builds the index: keep it off the event loop
                hits = await loop.run_in_executor(None, functools.partial(search_index.search, query, lg_code, limit))
            except search_index.InvalidLgCode as exc:
                return guard.error_response(str(exc))
            return response.json({"query": query, "lg_code": lg_code, "hits": [h.to_dict() for h in hits]},
                                 dumps=_dumps)

        return bp
