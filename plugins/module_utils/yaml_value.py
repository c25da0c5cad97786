"""A value as YAML flow text that reads back as the same value, whatever its strings hold.

Templates emit every value through this (filter agentic.platform.yaml_value), so that no input
can change the shape of a rendered object: a newline, "a: b", "no" or "#" stays the string it was.
JSON is YAML flow text, except for two things this fixes: JSON writes a character outside the
Basic Multilingual Plane (an emoji) as a surrogate pair, which YAML parsers refuse or read as two
broken characters, so such characters are written as themselves; and YAML refuses some characters
written as themselves (DEL, C1 controls, U+FEFF, U+FFFE/U+FFFF) or reads them as line breaks (NEL,
U+2028, U+2029), so those are escaped.
"""

from __future__ import annotations

import json
import re

# What YAML refuses as itself, or reads as a line break (NEL, LS, PS) inside a quoted scalar.
_YAML_ESCAPED = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def yaml_value(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _YAML_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
