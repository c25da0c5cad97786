"""The agents' Redis ACL rules (plugins/module_utils/redis_acl.py), checked against a real redis-server.

The table of dangerous commands is compared with the running server's own COMMAND output; every
rule set the check accepts is given to ACL SETUSER, and ACL DRYRUN shows that the user may run no
@admin/@dangerous command and may run PING (the readiness probe).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import yaml
from ansible_collections.agentic.platform.plugins.module_utils import redis_acl

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = yaml.safe_load((ROOT / "roles/redis/defaults/main.yml").read_text())["redis_agent_acl"]

ACCEPTED = [
    DEFAULT,
    "~agent:* %R~cache:* %W~out:* &events:* +@read +@write -@dangerous +ping",
    "resetkeys ~* resetchannels &* -@all +@read +@fast -@dangerous",
    "allkeys allchannels +@read +@write +@connection +@transaction +@scripting -@dangerous -@admin",
    "~session:[a-f0-9]* +get +set +del +expire +ping +client|setname +publish",
    "~* +@read -@dangerous +ping +client|setname",
    "~* +@write -@dangerous -flushdb -sort +ping",
]

# case -> rules; each must be refused with a message
REFUSED = {
    "all": "~* &* +@all -@admin -@dangerous",
    "allcommands": "~* allcommands -@dangerous",
    "admin-category": "~* +@admin +ping",
    "dangerous-category": "~* +@dangerous +ping",
    "write-without-dangerous-removed": "~* +@write +ping",
    "read-only-admin-removed": "~* +@read -@admin +ping",
    "re-granted-after-removal": "~* +@read -@dangerous +@connection",
    "acl": "~* +ping +acl",
    "acl-subcommand": "~* +ping +acl|setuser",
    "config-get": "~* +ping +config|get",
    "config-container": "~* +ping +CONFIG",
    "module": "~* +ping +module|load",
    "debug-first-arg": "~* +ping +debug|object",
    "shutdown": "~* +ping +shutdown",
    "flushall": "~* +ping +flushall",
    "flushdb": "~* +ping +flushdb",
    "keys": "~* +ping +keys",
    "replicaof": "~* +ping +replicaof",
    "slaveof": "~* +ping +slaveof",
    "save": "~* +ping +bgsave",
    "client-kill": "~* +ping +client",
    "password": "~* +ping >secret",
    "password-removal": "~* +ping <secret",
    "hash": "~* +ping #" + "a" * 64,
    "hash-removal": "~* +ping !" + "a" * 64,
    "nopass": "~* +ping nopass",
    "on": "on ~* +ping",
    "off": "off ~* +ping",
    "reset": "reset ~* +ping",
    "resetpass": "~* +ping resetpass",
    "selector": "~* +ping (~other:* +get)",
    "skip-sanitize": "~* +ping skip-sanitize-payload",
    "pattern-quote": "~agent:'* +ping",
    "pattern-dollar": "~$(id) +ping",
    "pattern-backtick": "~`id` +ping",
    "pattern-semicolon": "~a;b +ping",
    "pattern-backslash": "~a\\*b +ping",
    "pattern-empty": "~ +ping",
    "channel-pipe": "&a|b +ping",
    "unknown-category": "~* +@everything +ping",
    "unknown-token": "~* +ping sudo",
    "no-ping": "~* +get +set",
    "newline": "~* +ping\n+get",
    "newline-user-line": "~* +ping\nuser evil on nopass ~* +@all",
    "tab": "~*\t+ping",
    "empty": "",
    "blank": "   ",
}


@pytest.mark.parametrize("rules", ACCEPTED)
def test_accepted_rules_have_no_problem(rules):
    assert redis_acl.problems(rules) == []


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_rules(case):
    assert redis_acl.problems(REFUSED[case]), f"{case}: accepted"


def test_password_rules_never_echo_the_password():
    for rules in ("~* +ping >hunter2-secret", "~* +ping <hunter2-secret", "~* +ping #hunter2-secret"):
        assert "hunter2" not in " ".join(redis_acl.problems(rules))


def test_message_names_the_dangerous_commands():
    assert "flushall" in redis_acl.problems("~* +ping +flushall")[0]
    assert "config get" in redis_acl.problems("~* +ping +config|get")[0]


# --- against a real redis-server -------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tmp_path_factory.mktemp("redis-acl")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port, decode_responses=True, socket_timeout=5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield client
    proc.terminate()
    proc.wait(timeout=10)


def _commands(client) -> dict[str, tuple[set[str], int]]:
    """command or container|subcommand -> (its ACL categories, its arity), from COMMAND."""
    client.response_callbacks.pop("COMMAND", None)
    table = {}

    def walk(entry):
        subcommands = entry[9] if len(entry) > 9 else []
        for sub in subcommands:
            walk(sub)
        if not subcommands:
            table[entry[0].lower()] = ({c.lstrip("@") for c in entry[6]}, entry[1])

    for entry in client.execute_command("COMMAND"):
        walk(entry)
    return table


def _granted(client, user: str) -> list[str]:
    """The @admin/@dangerous commands ACL DRYRUN lets the user run (a key refusal still counts as granted)."""
    granted = []
    for name, (_cats, arity) in _commands(client).items():
        if name in redis_acl.DANGEROUS:
            words = name.split("|")
            args = [*words, *["x"] * (abs(arity) - len(words))]
            if "command" not in client.execute_command("ACL", "DRYRUN", user, *args):
                granted.append(name)
    return granted


def test_dangerous_table_is_the_servers(server):
    dangerous = {name: cats for name, (cats, _arity) in _commands(server).items() if {"admin", "dangerous"} & cats}
    assert len(dangerous) > 50
    assert dangerous == {name: set(cats) for name, cats in redis_acl.DANGEROUS.items()}
    assert set(server.execute_command("ACL", "CAT")) == set(redis_acl.CATEGORIES)


@pytest.mark.parametrize("rules", ACCEPTED)
def test_accepted_rules_load_and_leave_no_dangerous_command(server, rules):
    user = "agent-under-test"
    server.execute_command("ACL", "SETUSER", user, "reset", "on", ">pw", *redis_acl.tokens(rules))
    try:
        assert server.execute_command("ACL", "DRYRUN", user, "PING") == "OK"
        assert _granted(server, user) == []
    finally:
        server.execute_command("ACL", "DELUSER", user)


@pytest.mark.parametrize("case", ["write-without-dangerous-removed", "config-get", "client-kill"])
def test_refused_rules_do_grant_a_dangerous_command_in_redis(server, case):
    """The refusals are not over-cautious: Redis itself grants a dangerous command with these rules."""
    user = "refused-under-test"
    server.execute_command("ACL", "SETUSER", user, "reset", "on", ">pw", *redis_acl.tokens(REFUSED[case]))
    try:
        assert _granted(server, user)
    finally:
        server.execute_command("ACL", "DELUSER", user)


def test_accepted_extra_config_starts_a_real_redis(tmp_path):
    """redis_extra_config values the check accepts are lines redis-server reads (as the role writes them)."""
    from ansible_collections.agentic.platform.plugins.module_utils.inputs import redis as redis_inputs

    extra = {"maxclients": 500, "hz": "20", "notify-keyspace-events": "Ex",
             "client-output-buffer-limit": "pubsub 32mb 8mb 60", "loglevel": "warning", "lazyfree-lazy-eviction": "yes"}
    assert redis_inputs.config_problems(extra) == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "redis.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\nsave \"\"\ndir {tmp_path}\n"
                    + "".join(f"{name} {value}\n" for name, value in extra.items()))
    proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis(port=port, decode_responses=True, socket_timeout=5)
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.config_get("maxclients") == {"maxclients": "500"}
                break
            except redis.exceptions.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "redis-server refused the config"
                time.sleep(0.05)
        assert client.config_get("notify-keyspace-events")["notify-keyspace-events"] in ("xE", "Ex")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
