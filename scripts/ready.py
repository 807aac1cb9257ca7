"""Waits until a server answers: ``python scripts/ready.py URL PID [SECONDS]``.

Exit 0 once ``URL`` answers; 1 when the process ``PID`` has ended first (its own output says why) or after
SECONDS (default 300). Used by scripts/run.sh to print where each part listens once the guide is up.
"""
from __future__ import annotations

import os
import sys
import time
import urllib.request


def main(url: str, pid: int, seconds: float = 300.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return 1
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return 0
        except OSError:
            time.sleep(0.5)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 300.0))
