"""Masks personal data in every log record of the process (Rasa's, Sanic's, ours).

A log record factory rather than a handler filter: it sees every record created by any logger, before
any handler (present or added later) formats it. Records below a logger's level are never created, so
the cost is paid only for records that are emitted.

A message may hold a user's text as ``json.dumps`` writes it by default, every non-ASCII character as a
``\\uXXXX`` escape (０３-… as ``\\uff10\\uff13-…``): escapes are read as the characters they stand for when
looking for personal data, and whatever is masked is replaced escapes and all; the rest of the line is kept
as written.
"""
from __future__ import annotations

import logging
import re

from bot.privacy.masking import mask, spans

_ESCAPE_RE = re.compile(r"\\u([0-9A-Fa-f]{4})")  # fixed width: one pass over the message, no backtracking

_installed = False


def mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record stays as it is; logging reports it itself
        return
    masked = mask_escaped(message)
    if masked != message:
        record.msg, record.args = masked, ()


def mask_escaped(message: str) -> str:
    """``mask(message)``, also masking personal data written with ``\\uXXXX`` escapes."""
    if "\\u" not in message:
        return mask(message)
    decoded: list[str]
    where: list[int]
    decoded, where, last = [], [], 0  # where: the offset in message of each decoded character
    for escape in _ESCAPE_RE.finditer(message):
        decoded.append(message[last:escape.start()])
        where.extend(range(last, escape.start()))
        decoded.append(chr(int(escape.group(1), 16)))
        where.append(escape.start())
        last = escape.end()
    decoded.append(message[last:])
    where.extend(range(last, len(message) + 1))  # and where the message ends
    pieces, last = [], 0
    for start, end, label in spans("".join(decoded)):
        pieces += [message[last:where[start]], label]
        last = where[end]
    return "".join(pieces) + message[last:] if pieces else message


def install() -> None:
    """Masks every log record created from now on in this process (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        mask_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
