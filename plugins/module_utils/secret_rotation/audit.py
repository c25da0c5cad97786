"""The durable audit trail: JSON lines on the controller, a ConfigMap and an Event.

Records carry metadata and keyed fingerprints only; :func:`assert_no_values` is the last
guard before anything is written.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .common import MIN_SECRET_LEN, RotationError, b64


def assert_no_values(record: dict[str, Any], values) -> None:
    text = json.dumps(record)
    for value in values:
        if value and len(value) >= MIN_SECRET_LEN and (value in text or b64(value) in text):
            raise RotationError("internal error: an audit record would contain a secret value; not written")


def append_jsonl(path: str, record: dict[str, Any]) -> None:
    path = os.path.expanduser(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
