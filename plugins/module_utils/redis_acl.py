"""Redis ACL rules of a user the role does not own the password of (the agents' user).

``problems(rules)`` parses the rules into tokens, as ``ACL SETUSER`` does, and says what is wrong:
a token Redis would refuse, a rule that sets the user's password or state (the role owns them),
a key or channel pattern with characters that are not part of Redis's glob syntax, or a set of
rules that leaves the user a dangerous command.

"Dangerous" is Redis's own classification: the commands of the ``@admin`` and ``@dangerous``
categories (``COMMAND INFO``; every ``@admin`` command is also ``@dangerous``). Redis documents
@admin as commands "normal applications will never need" and @dangerous as "potentially
dangerous (each should be considered with care)": they read or change the server's
configuration, users and replication (ACL, CONFIG, MODULE, DEBUG, REPLICAOF, SHUTDOWN), wipe or
scan every key (FLUSHALL, FLUSHDB, KEYS, SWAPDB), load raw payloads (RESTORE, MIGRATE) or reach
keys outside the user's patterns (SORT ... BY/GET). The rules are evaluated in order over that
table, so ``+@write -@dangerous`` is accepted and ``+@write`` alone, ``+@all`` or
``+config|get`` are not. ``+@all``/``allcommands`` are refused even when followed by
``-@dangerous``: they also grant every command a module or a later Redis adds.
"""

from __future__ import annotations

import re

# Every ACL category of Redis 7 (ACL CAT).
CATEGORIES = frozenset((
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
    "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting"))

# The @admin/@dangerous commands and subcommands of Redis 7 with their categories (COMMAND INFO of
# redis-server 7.0; tests/unit/test_redis_acl_rules.py compares this table with the real server).
_DANGEROUS_BY_CATEGORIES = {
    "admin dangerous slow": (
        "acl|deluser acl|dryrun acl|getuser acl|list acl|load acl|log acl|save acl|setuser acl|users bgrewriteaof "
        "bgsave cluster|addslots cluster|addslotsrange cluster|bumpepoch cluster|count-failure-reports "
        "cluster|delslots cluster|delslotsrange cluster|failover cluster|flushslots cluster|forget cluster|meet "
        "cluster|replicas cluster|replicate cluster|reset cluster|saveconfig cluster|set-config-epoch "
        "cluster|setslot cluster|slaves config|get config|resetstat config|rewrite config|set debug failover "
        "latency|doctor latency|graph latency|histogram latency|history latency|latest latency|reset module|list "
        "module|load module|loadex module|unload monitor psync replconf replicaof save shutdown slaveof slowlog|get "
        "slowlog|len slowlog|reset sync"),
    "admin connection dangerous slow": "client|kill client|list client|no-evict client|pause client|unblock "
                                       "client|unpause",
    "admin dangerous fast": "lastsave role",
    "admin dangerous hyperloglog slow write": "pfdebug",
    "admin dangerous hyperloglog slow": "pfselftest",
    "dangerous keyspace slow write": "flushall flushdb migrate restore restore-asking",
    "dangerous keyspace read slow": "keys",
    "dangerous slow": "info",
    "dangerous list set slow sortedset write": "sort",
    "dangerous list read set slow sortedset": "sort_ro",
    "dangerous fast keyspace write": "swapdb",
}
DANGEROUS = {command: frozenset(categories.split())
             for categories, commands in _DANGEROUS_BY_CATEGORIES.items() for command in commands.split()}
# A command a module or a later Redis version adds to a category may be dangerous too: one
# stand-in per category, which only a later -@dangerous (or -@admin for admin) takes away again.
_FUTURE = {f"(a dangerous command Redis adds to @{category})": frozenset((category, "dangerous"))
           for category in CATEGORIES if category != "dangerous"}
# What the agent user must keep: the readiness probe logs in as that user and runs PING.
REQUIRED = {"ping": frozenset(("fast", "connection"))}

# Redis's glob syntax (* ? [a-z] [^a]) over key-name characters: no whitespace, quotes, backslash
# escapes or shell characters ($ ` ; | & < > ( ) { } !).
PATTERN = re.compile(r"^[A-Za-z0-9_:.,/=@+*?^\[\]-]+$")
_COMMAND = re.compile(r"^[a-z][a-z0-9_-]*(\|[a-z0-9_-]+)?$")
_KEY_PERMISSION = re.compile(r"^%(R|W|RW|WR)~")
# Rules that set the user's passwords or state: the role writes them itself.
_OWNED = ("on", "off", "nopass", "resetpass", "reset")
_OWNED_PREFIXES = (">", "<", "#", "!")


def tokens(rules: str) -> list[str]:
    """The rules as ACL SETUSER reads them: separated by whitespace."""
    return rules.split()


def _matches(token: str, command: str) -> bool:
    """Whether +/-<token> (a command, a container or a command|first-arg) names the command or subcommand."""
    name, _sep, sub = token.partition("|")
    base, _sep, command_sub = command.partition("|")
    return name == base and (not sub or not command_sub or sub == command_sub)


def allowed_after(rules: list[str], table: dict[str, frozenset]) -> set[str]:
    """The commands of the table the rules leave granted to a new user (who starts with none)."""
    granted = set()
    for token in rules:
        token = token.lower()
        if token in ("allcommands", "+@all"):
            granted = set(table)
        elif token in ("nocommands", "-@all"):
            granted = set()
        elif token[:2] in ("+@", "-@"):
            members = {c for c, categories in table.items() if token[2:] in categories}
            granted = granted | members if token[0] == "+" else granted - members
        elif token[:1] in ("+", "-"):
            members = {c for c in table if _matches(token[1:], c)}
            granted = granted | members if token[0] == "+" else granted - members
    return granted


def problems(rules: str) -> list[str]:
    """What is wrong with the rules (empty when they can be given to the agents' user)."""
    found = []
    parsed = tokens(rules)
    if any(c not in " " and c.isspace() for c in rules):
        # The rules end up on the user's line of the ACL file: a line break would start another line.
        return ["the rules must be one line, separated by spaces (no newlines or tabs)"]
    if not parsed:
        return ["no rules (give key, channel and command rules, like '~app:* &app:* +@read +@write -@dangerous')"]
    for token in parsed:
        lower = token.lower()
        if lower in _OWNED or token.startswith(_OWNED_PREFIXES):
            found.append(f"'{lower if lower in _OWNED else token[0] + '...'}' sets the user's password or state, "
                         "which the role manages")
        elif lower in ("+@all", "allcommands"):
            found.append(f"'{token}' grants every command, including ones a module or a later Redis adds; grant "
                         "categories or commands (like +@read +@write) and end with -@dangerous")
        elif token.startswith("(") or lower in ("clearselectors",):
            found.append(f"'{token[:20]}': selectors are not supported; give one set of rules")
        elif lower in ("skip-sanitize-payload", "sanitize-payload"):
            found.append(f"'{token}': payload sanitizing stays Redis's default")
        elif lower in ("allkeys", "allchannels", "resetkeys", "resetchannels", "nocommands", "-@all"):
            continue
        elif token[:1] in ("~", "&") or _KEY_PERMISSION.match(token):
            pattern = token.split("~", 1)[1] if token[0] != "&" else token[1:]
            if not PATTERN.fullmatch(pattern):
                found.append(f"pattern '{token[:40]}' must be a non-empty Redis glob of letters, digits and "
                             "_ : . , / = @ + * ? ^ [ ] - (no whitespace, quotes, backslashes or shell characters)")
        elif token[:2] in ("+@", "-@"):
            if token[2:].lower() not in CATEGORIES:
                found.append(f"'{token[:40]}': unknown category (Redis has {', '.join(sorted(CATEGORIES))})")
        elif token[:1] in ("+", "-"):
            if not _COMMAND.fullmatch(lower[1:]):
                found.append(f"'{token[:40]}' is not a command rule (+command, -command or +command|subcommand)")
        else:
            found.append(f"'{token[:40]}' is not an ACL rule for keys (~pattern, %R~pattern), channels (&pattern) "
                         "or commands (+command, -command, +@category, -@category)")
    if found:
        return found
    dangerous = allowed_after(parsed, {**DANGEROUS, **_FUTURE})
    if dangerous:
        named = sorted(c.replace("|", " ") for c in dangerous if c in DANGEROUS)
        later = sorted(c for c in dangerous if c not in DANGEROUS)
        found.append("the rules grant dangerous commands: " + ", ".join(named[:8] + later[:1]) +
                     (" ..." if len(named) > 8 or len(later) > 1 else "") +
                     " (Redis's @admin and @dangerous categories); end category grants with -@dangerous and "
                     "grant no such command by name")
    missing = set(REQUIRED) - allowed_after(parsed, REQUIRED)
    if missing:
        found.append(f"the rules must grant {', '.join(sorted(missing))}: the readiness probe runs it as this user")
    return found
