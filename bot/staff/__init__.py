"""The staff desk: a server of its own (default http://localhost:8090/) for the people behind the counter.

    app.py       the Sanic app: sessions and CSRF on every request, security headers, error pages
    views.py     the pages (login/logout, look-up, municipality suggestions, audit log, data)
    lookup.py    the look-up page's content (bot.search ranking, municipality filter, highlighting)
    accounts.py  accounts, roles, Argon2id password hashes, lockout
    sessions.py  session cookies and CSRF tokens (itsdangerous), the desk's secret
    templates/   Jinja2 pages (autoescaped);  static/  the desk's own CSS and JavaScript (nothing external)

It reads the same knowledge base as the guide (MADOGUCHI_DB_URL); its accounts, sessions and audit log
are tables of that database, stored by bot.kb.staff.
"""
