"""A cheap "has this SQLite file been written since?" stamp, read without a query and without a lock.

In rollback-journal mode (the loader's) SQLite increments the *file change counter* in the database
header (bytes 24..27) on every commit, so while a file's identity (device, inode), size, mtime and
counter stay the same, nothing has been committed to it. A file in WAL mode (header byte 18 = 2) keeps
no such counter: it gets no stamp.

The header is read through one read-only descriptor per file that is never closed. SQLite locks its
files with POSIX advisory locks, and closing *any* descriptor of a file drops every lock this process
holds on it (https://www.sqlite.org/howtocorrupt.html, section 2.2): opening and closing the file for
each read would silently release the locks of this process's own connections (another thread's read
transaction, a feedback write in progress).
"""
from __future__ import annotations

import os
import threading

_MAGIC = b"SQLite format 3\x00"
_descriptors: dict[str, int] = {}
_lock = threading.Lock()


def change_stamp(path: str) -> tuple[int, ...] | None:
    """(device, inode, size, mtime_ns, change counter) of the SQLite file at ``path``, or None when
    the file is missing, is not a SQLite database, or is in WAL mode."""
    fd = _descriptor(path)
    if fd is None:
        return None
    try:
        header, st = os.pread(fd, 28, 0), os.fstat(fd)
    except OSError:
        return None
    if len(header) < 28 or header[:16] != _MAGIC or header[18] != 1:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, int.from_bytes(header[24:28], "big")


def _descriptor(path: str) -> int | None:
    try:
        current = os.stat(path)  # opens nothing
    except OSError:
        return None
    with _lock:
        fd = _descriptors.get(path)
        if fd is not None:
            held = os.fstat(fd)
            if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
                return fd
        try:  # a file new at this path (or replaced): another descriptor; the old one stays open
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        _descriptors[path] = fd
        return fd
