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

_MAGIC = b"SQLite format 3\x00"
_descriptors: dict[str, int] = {}


def change_stamp(path: str) -> tuple[int, ...] | None:
    """(device, inode, size, mtime_ns, change counter) of the SQLite file at ``path``, or None when
    the file is missing, is not a SQLite database, or is in WAL mode."""
    try:
        current = os.stat(path)  # opens nothing
        fd = _descriptors.get(path)
        st = os.fstat(fd) if fd is not None else None
        if fd is None or st is None or (st.st_dev, st.st_ino) != (current.st_dev, current.st_ino):
            fd = _open(path)  # a file new at this path (or replaced)
            st = os.fstat(fd)
        header = os.pread(fd, 28, 0)
    except OSError:
        return None
    if len(header) < 28 or header[:16] != _MAGIC or header[18] != 1:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, int.from_bytes(header[24:28], "big")


def _open(path: str) -> int:
    """Another descriptor for ``path``. The one it replaces stays open, as does one that a thread
    opening the same file at the same moment replaces: closing either would drop locks."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    _descriptors[path] = fd
    return fd
