"""One JSON object per log line (time, level, logger, message, exception), for Rasa and the action server.

Used through ``--logging-config-file deploy/logging.yml`` (both ``rasa run`` and ``rasa run actions``
accept it). At info level neither Rasa nor Madoguchi logs message texts; Rasa logs user messages
only at debug level, so do not run production with ``--debug``.
"""
from __future__ import annotations

import json
import logging
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
