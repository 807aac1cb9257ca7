"""Masks personal data in every log record of the process (Rasa's, Sanic's, ours).

A log record factory rather than a handler filter: it sees every record created by any logger, before
any handler (present or added later) formats it. Records below a logger's level are never created, so
the cost is paid only for records that are emitted.
"""
from __future__ import annotations

import logging

from bot.privacy.masking import mask

_installed = False


class MaskingFilter(logging.Filter):
    """A filter for a handler or logger: replaces the record's message by its masked form."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record stays as it is; logging reports it itself
        return
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, ()


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
