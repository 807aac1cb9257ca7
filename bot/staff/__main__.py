"""Serves the staff desk: ``python -m bot.staff [--host H] [--port P] [--db URL]``.

The port is ``--port``, else ``STAFF_PORT``, else 8090 (0 picks a free one); the host ``--host``, else
``STAFF_HOST``, else 127.0.0.1 (the desk is for the office's own network: never put it on the public web
front). Once it listens it prints ``Madoguchi staff desk: http://localhost:PORT/``, and how to create the
first account when there is none.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.staff",
                                     description="窓口の職員用画面を起動する / serve the staff desk")
    parser.add_argument("--host", default=os.environ.get("STAFF_HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("STAFF_PORT") or 8090))
    parser.add_argument("--db", default=None,
                        help="knowledge-base SQLAlchemy URL (default: MADOGUCHI_DB_URL or var/madoguchi.sqlite3)")
    args = parser.parse_args(argv)

    from bot.kb import staff as store
    from bot.kb.db import database_url
    from bot.privacy import logging as privacy_logging
    from bot.staff.app import create_app

    privacy_logging.install()
    url = database_url(args.db)
    store.ensure_tables(url)
    app = create_app(url)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::", "::1") else args.host

    @app.after_server_start
    async def ready(_app, _loop):
        print(f"Madoguchi staff desk: http://{shown}:{port}/", flush=True)
        if store.account_count(url) == 0:
            print("  no staff account yet: create the first with "
                  "`.venv/bin/madoguchi staff add NAME --role editor` (職員アカウントがまだありません)", flush=True)
        _loop.run_in_executor(None, _warm_up, url)

    app.run(sock=sock, access_log=False, motd=False)
    return 0


def _warm_up(url: str) -> None:
    """Loads the dictionary and builds the search index before the first look-up needs them."""
    from bot.search import index as search_index

    try:
        search_index.index_for(url)
    except Exception:  # noqa: BLE001  # an empty or unbuilt database: the first look-up says so
        pass


if __name__ == "__main__":
    sys.exit(main())
