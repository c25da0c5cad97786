"""The durable audit trail: JSON lines on the controller, a ConfigMap and an Event.

Records carry metadata and keyed fingerprints only; :func:`assert_no_values` is the last
guard before anything is written.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from .common import MIN_SECRET_LEN, RotationError, forms


def assert_no_values(record: dict[str, Any], values) -> None:
    """Refuse a record in which any form of a value appears (see ``common.forms``)."""
    text = json.dumps(record)
    for value in values:
        if value and len(value) >= MIN_SECRET_LEN and any(form in text for form in forms(value)):
            raise RotationError("internal error: an audit record would contain a secret value; not written")


def append_jsonl(path: str, record: dict[str, Any]) -> None:
    """Append one JSON line to the audit file, owner-only (0600), never through a symlink or to
    anything but a regular file. Raises OSError."""
    path = os.path.expanduser(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    # O_NONBLOCK: a FIFO planted at the path fails at once instead of blocking the run
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        os.fchmod(fd, 0o600)
        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
