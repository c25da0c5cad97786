"""The redis role's pod logic against a real redis-server (no cluster needed).

The role's template is rendered by Ansible; then the init container's script builds the ACL
file from Secret-like files, redis-server runs the rendered redis.conf, and the probe command
is run as the kubelet would: the contract (default user off, users agent and admin, the
password never on a command line, two agent passwords during a rotation) is checked for real.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
import redis
from site_support import render_role_template

AGENT_PW = "agent-pw 'with' $pecial chars"  # spaces, quotes and $ must survive the shell
ADMIN_PW = "admin-Pw-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pod(tmp_path_factory):
    """A Redis 'pod' on this machine: ACL from the init script, the rendered redis.conf."""
    tmp = tmp_path_factory.mktemp("redis")
    objects = render_role_template("redis", "redis.yml.j2",
                                   {"agentic_namespace": "acl-test", "redis_extra_config": {"hz": "20"}}, tmp)
    sts = next(o for o in objects if o["kind"] == "StatefulSet")
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    conf = config["redis.conf"]
    auth, run, data, etc = tmp / "auth", tmp / "run", tmp / "data", tmp / "etc"
    for d in (auth, run, data, etc):
        d.mkdir()
    for name, text in config.items():  # the ConfigMap's files, mounted at /etc/redis
        (etc / name).write_text(text)
    (auth / "redis-password").write_text(AGENT_PW + "\n")  # a trailing newline as kubectl create often leaves
    (auth / "redis-admin-password").write_text(ADMIN_PW)

    def localize(text: str) -> str:
        text = text.replace("/etc/redis-auth", str(auth)).replace("/run/redis", str(run))
        return text.replace("/etc/redis", str(etc))

    spec = sts["spec"]["template"]["spec"]
    init = spec["initContainers"][0]
    subprocess.run([*init["command"], localize(init["args"][0])], check=True)
    port = _free_port()
    conf = localize(conf).replace("dir /data", f"dir {data}").replace("port 6379", f"port {port}")
    conf = conf.replace("bind * -::*", "bind 127.0.0.1")
    (tmp / "redis.conf").write_text(conf)
    proc = subprocess.Popen(["redis-server", str(tmp / "redis.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    probe = spec["containers"][0]["readinessProbe"]["exec"]["command"]
    probe = [*probe[:-1], localize(probe[-1]).replace("redis-cli ", f"redis-cli -p {port} ", 1)]
    alive = spec["containers"][0]["livenessProbe"]["exec"]["command"]
    alive = [*alive[:-1], alive[-1].replace("redis-cli ", f"redis-cli -p {port} ", 1)]
    yield {"port": port, "sts": sts, "probe": probe, "alive": alive, "auth": auth, "run": run, "etc": etc,
           "objects": objects}
    proc.terminate()
    proc.wait(timeout=10)


def _client(pod, user=None, password=None) -> redis.Redis:
    return redis.Redis(port=pod["port"], username=user, password=password, socket_timeout=5)


def test_default_user_is_off(pod):
    with pytest.raises(redis.exceptions.AuthenticationError):
        _client(pod).ping()


def test_agent_and_admin_log_in(pod):
    agent = _client(pod, "agent", AGENT_PW)
    agent.set("k", "v")
    assert agent.get("k") == b"v"
    assert _client(pod, "admin", ADMIN_PW).acl_whoami() == "admin"


def test_agent_cannot_administer(pod):
    agent = _client(pod, "agent", AGENT_PW)
    for command in (("ACL", "LIST"), ("FLUSHALL",), ("CONFIG", "GET", "dir")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            agent.execute_command(*command)


def test_acl_file_holds_hashes_not_passwords(pod):
    text = (pod["run"] / "users.acl").read_text()
    assert AGENT_PW not in text and ADMIN_PW not in text
    assert "user default off" in text and text.count("#") == 2


def test_probe_authenticates_from_the_file(pod):
    assert subprocess.run(pod["probe"], check=False).returncode == 0
    good = (pod["auth"] / "redis-password").read_text()
    (pod["auth"] / "redis-password").write_text("wrong")
    try:
        assert subprocess.run(pod["probe"], check=False, capture_output=True).returncode != 0
    finally:
        (pod["auth"] / "redis-password").write_text(good)


def test_no_password_in_the_rendered_objects(pod):
    text = json.dumps(pod["objects"])
    assert AGENT_PW not in text and ADMIN_PW not in text
    for container in pod["sts"]["spec"]["template"]["spec"]["containers"]:
        assert "-a" not in json.dumps(container["readinessProbe"]["exec"]["command"]).split()
        assert not any("PASSWORD" in e.get("name", "") for e in container.get("env", []))


def test_rotation_holds_two_agent_passwords(pod):
    """What secret rotation does: add the new password, switch, remove the old one."""
    admin = _client(pod, "admin", ADMIN_PW)
    admin.execute_command("ACL", "SETUSER", "agent", ">new-agent-pw")
    assert _client(pod, "agent", AGENT_PW).ping() and _client(pod, "agent", "new-agent-pw").ping()
    (pod["auth"] / "redis-password").write_text("new-agent-pw")
    assert subprocess.run(pod["probe"], check=False).returncode == 0
    admin.execute_command("ACL", "SETUSER", "agent", f"<{AGENT_PW}")
    with pytest.raises(redis.exceptions.AuthenticationError):
        _client(pod, "agent", AGENT_PW).ping()
    assert _client(pod, "agent", "new-agent-pw").ping()
    (pod["auth"] / "redis-password").write_text(AGENT_PW + "\n")


def test_restart_mid_rotation_keeps_both_agent_passwords(pod, tmp_path):
    """Redis restarted after the Secret switched (pods not all rolled yet): the init script
    builds the ACL from redis-password and redis-password-previous, so both still log in."""
    init = pod["sts"]["spec"]["template"]["spec"]["initContainers"][0]
    auth, run = tmp_path / "auth", tmp_path / "run"
    auth.mkdir()
    run.mkdir()
    (auth / "redis-password").write_text("rotated-agent-pw")
    (auth / "redis-password-previous").write_text(AGENT_PW)
    (auth / "redis-admin-password").write_text(ADMIN_PW)
    script = init["args"][0].replace("/etc/redis-auth", str(auth)).replace("/run/redis", str(run)).replace(
        "/etc/redis", str(pod["etc"]))
    subprocess.run([*init["command"], script], check=True)
    text = (run / "users.acl").read_text()
    assert "rotated-agent-pw" not in text and AGENT_PW not in text
    admin = _client(pod, "admin", ADMIN_PW)
    agent_line = next(line for line in text.splitlines() if line.startswith("user agent "))
    assert agent_line.count("#") == 2
    admin.execute_command("ACL", "SETUSER", "restarted", "reset", *agent_line.split()[2:])
    assert _client(pod, "restarted", "rotated-agent-pw").ping() and _client(pod, "restarted", AGENT_PW).ping()
    (auth / "redis-password-previous").unlink()
    subprocess.run([*init["command"], script], check=True)
    assert next(line for line in (run / "users.acl").read_text().splitlines()
                if line.startswith("user agent ")).count("#") == 1


def test_liveness_asks_only_whether_the_process_answers(pod):
    """Liveness differs from readiness: a Redis whose agent password no longer works (or that is
    loading) is taken out of rotation by readiness, not killed by liveness."""
    spec = pod["sts"]["spec"]["template"]["spec"]["containers"][0]
    assert spec["livenessProbe"] != spec["readinessProbe"]
    assert spec["livenessProbe"]["failureThreshold"] * spec["livenessProbe"]["periodSeconds"] > \
        spec["readinessProbe"]["failureThreshold"] * spec["readinessProbe"]["periodSeconds"]
    good = (pod["auth"] / "redis-password").read_text()
    (pod["auth"] / "redis-password").write_text("wrong")
    try:
        assert subprocess.run(pod["probe"], check=False, capture_output=True).returncode != 0
        assert subprocess.run(pod["alive"], check=False, capture_output=True).returncode == 0
    finally:
        (pod["auth"] / "redis-password").write_text(good)
    down = [*pod["alive"][:-1], pod["alive"][-1].replace(f"-p {pod['port']}", f"-p {_free_port()}")]
    assert subprocess.run(down, check=False, capture_output=True).returncode != 0


def test_acl_rules_are_a_file_not_shell_text(pod):
    """The agent's user and rules reach the init script and the probe as files of the ConfigMap."""
    config = next(o for o in pod["objects"] if o["kind"] == "ConfigMap")["data"]
    init = pod["sts"]["spec"]["template"]["spec"]["initContainers"][0]
    assert config["acl-agent-rules"] and config["acl-agent-rules"] not in init["args"][0]
    assert config["acl-agent-user"] == "agent"
    assert " agent " not in init["args"][0] and "--user agent" not in pod["probe"][-1]
    line = next(x for x in (pod["run"] / "users.acl").read_text().splitlines() if x.startswith("user agent "))
    assert line.endswith(" " + config["acl-agent-rules"])
