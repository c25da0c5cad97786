"""Redis's files rendered from data, for both modes of the redis role.

A data node runs ``redis-server`` with a fixed ``redis.conf`` (ConfigMap) and, in sentinel mode, a
``runtime.conf`` its init script writes at start: the replication password and whom to replicate
(the primary the Sentinels name, else the seed node). A Sentinel runs ``redis-server --sentinel``
on a ``sentinel.conf`` its init script writes (Sentinel rewrites that file, so it lives in a
writable memory volume): the fixed part from the ConfigMap, the primary to monitor and the
passwords. Users are ACL lines with sha256 hashes of the Secret's files, never the passwords.

The scripts read only files and environment variables (set by the pod spec: the node's own
address, the seed, the Sentinels), so no value is ever pasted into shell text, and the tests run
the very same scripts and files with real ``redis-server`` processes on loopback.
"""

from __future__ import annotations

AUTH_DIR = "/etc/redis-auth"  # the Secret's files
CONFIG_DIR = "/etc/redis"  # the ConfigMap's files
RUN_DIR = "/run/redis"  # memory volume: users.acl, runtime.conf, sentinel.conf
DATA_DIR = "/data"
REDIS_PORT = 6379
SENTINEL_PORT = 26379
MODES = ("standalone", "sentinel")

ADMIN_USER = "admin"
REPLICATION_USER = "replica"
SENTINEL_USER = "sentinel"
# What a replica needs on its primary (Redis's replication documentation, masteruser).
REPLICATION_RULES = "resetchannels -@all +psync +replconf +ping"
# What a Sentinel needs on a data node (Redis's Sentinel documentation, ACL section).
SENTINEL_ON_DATA_RULES = ("allchannels -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role "
                          "+publish +info +client|setname +client|kill +script|kill")
# What a Sentinel needs on its peers: PING, hello messages and the failure-agreement vote.
SENTINEL_ON_SENTINEL_RULES = ("allchannels -@all +ping +publish +subscribe +client|setname "
                              "+sentinel|is-master-down-by-addr")
# What a client needs from a Sentinel to find the primary and the replicas (redis-py's Sentinel,
# the init scripts' redis-cli): the agent user logs in to Sentinels with the same password.
DISCOVERY_RULES = ("allchannels -@all +ping +hello +client|setname +role +sentinel|get-master-addr-by-name "
                   "+sentinel|masters +sentinel|master +sentinel|sentinels +sentinel|replicas +sentinel|slaves "
                   "+subscribe +psubscribe +unsubscribe +punsubscribe")

# Secret keys: the agent's and the admin's as before; sentinel mode adds the replication user's
# and the Sentinels' (peers and their logins to data nodes).
AGENT_KEY = "redis-password"
ADMIN_KEY = "redis-admin-password"
REPLICATION_KEY = "redis-replication-password"
SENTINEL_KEY = "redis-sentinel-password"
ROTATION_KEYS = ("redis-password-previous", "redis-password-next")  # present only while a rotation runs


def secret_keys(mode: str) -> tuple[str, ...]:
    """The Secret keys a node of this mode reads (besides the rotation ones)."""
    return (AGENT_KEY, ADMIN_KEY) + ((REPLICATION_KEY, SENTINEL_KEY) if mode == "sentinel" else ())


def data_conf(*, mode: str = "standalone", appendfsync: str = "everysec", maxmemory: int = 0,
              maxmemory_policy: str = "noeviction", extra: dict | None = None, min_replicas_to_write: int = 1,
              min_replicas_max_lag: int = 10, bind: str = "* -::*", data_dir: str = DATA_DIR,
              run_dir: str = RUN_DIR) -> str:
    """redis.conf of a data node. Values are those the role's input checks restrict."""
    lines = ["# Rendered by agentic.platform (role redis); changes roll the StatefulSet.",
             f"bind {bind}"]
    if mode == "standalone":
        lines.append(f"port {REDIS_PORT}")
    lines += ["protected-mode yes", f"dir {data_dir}", "appendonly yes", f"appendfsync {appendfsync}",
              "save 3600 1 300 100 60 10000",
              "# Users (default off, the agents' user, admin) are written at pod start from the Secret files.",
              f"aclfile {run_dir}/users.acl", f"maxmemory {int(maxmemory)}", f"maxmemory-policy {maxmemory_policy}",
              "tcp-keepalive 60", "loglevel notice", 'logfile ""']
    if mode == "sentinel":
        lines += [
            "# A write is refused unless this many replicas are connected and no more than",
            "# min-replicas-max-lag seconds behind: with WAIT, an acknowledged write survives a failover.",
            f"min-replicas-to-write {int(min_replicas_to_write)}",
            f"min-replicas-max-lag {int(min_replicas_max_lag)}",
            f"masteruser {REPLICATION_USER}",
            "replica-priority 100",
            "# port, masterauth, the announced address and replicaof: written at start by the init script.",
            f"include {run_dir}/runtime.conf",
        ]
    lines += [f"{name} {value}" for name, value in sorted((extra or {}).items())]
    return "\n".join(lines) + "\n"


def sentinel_conf(*, bind: str = "* -::*", work_dir: str = RUN_DIR) -> str:
    """The fixed head of a Sentinel's configuration (before the monitored primary)."""
    return "\n".join([
        "# Rendered by agentic.platform (role redis): a Sentinel's fixed settings; the init script",
        "# adds the port, the monitored primary, the passwords and the users.",
        f"bind {bind}", "protected-mode yes", f"dir {work_dir}",
        "sentinel resolve-hostnames yes", "sentinel announce-hostnames yes",
        "loglevel notice", 'logfile ""',
    ]) + "\n"


def sentinel_master_conf(*, master_name: str, down_after_ms: int = 5000, failover_timeout_ms: int = 60000,
                         parallel_syncs: int = 1) -> str:
    """The monitored primary's settings (after its ``sentinel monitor`` line)."""
    return "\n".join([
        f"sentinel down-after-milliseconds {master_name} {int(down_after_ms)}",
        f"sentinel failover-timeout {master_name} {int(failover_timeout_ms)}",
        f"sentinel parallel-syncs {master_name} {int(parallel_syncs)}",
        f"sentinel auth-user {master_name} {SENTINEL_USER}",
    ]) + "\n"


_SHELL_HELPERS = r"""set -eu
umask 077
auth=@AUTH@
conf=@CONF@
run=@RUN@
# Every value goes into a variable first: set -e stops the script at a failed assignment, not at a
# failure inside another command's arguments.
need() { [ -s "$auth/$1" ] || { echo "Secret key $1 is missing or empty" >&2; exit 1; }; }
secret() { need "$1"; printf '%s' "$(cat "$auth/$1")"; }
digest() { need "$1"; printf '%s' "$(cat "$auth/$1")" | sha256sum | cut -d' ' -f1; }
# A value in a Redis configuration line: double-quoted, backslashes and quotes escaped (written
# with printf: dash's echo would read the backslashes).
quoted() {
  case "$1" in *'
'*) echo "a value for a Redis configuration line holds a line break" >&2; exit 1;; esac
  printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"
}
admin="#$(digest redis-admin-password)"
agent="#$(digest redis-password)"
for key in redis-password-previous redis-password-next; do
  if [ -s "$auth/$key" ]; then agent="$agent #$(digest "$key")"; fi
done
agent_user="$(cat "$conf/acl-agent-user")"
"""

_ASK_SENTINELS = r"""# The primary the Sentinels name now (a restarted node rejoins it), else the seed.
master=""
REDISCLI_AUTH="$(secret redis-password)"
export REDISCLI_AUTH
for address in $REDIS_SENTINELS; do
  answer="$(timeout 3 redis-cli --no-auth-warning --user "$agent_user" -h "${address%:*}" -p "${address##*:}" \
    SENTINEL get-master-addr-by-name "$(cat "$conf/master-name")" 2>/dev/null | tr '\n' ' ')" || answer=""
  set -- $answer
  if [ $# -eq 2 ]; then master="$1:$2"; break; fi
done
unset REDISCLI_AUTH
[ -n "$master" ] || master="$REDIS_SEED"
"""


def _script(body: str, auth_dir: str, config_dir: str, run_dir: str) -> str:
    head = _SHELL_HELPERS.replace("@AUTH@", auth_dir).replace("@CONF@", config_dir).replace("@RUN@", run_dir)
    return head + body


def data_init_script(mode: str = "standalone", *, auth_dir: str = AUTH_DIR, config_dir: str = CONFIG_DIR,
                     run_dir: str = RUN_DIR) -> str:
    """The data node's init script: users.acl (and, in sentinel mode, runtime.conf).

    During a secret rotation the Secret also holds redis-password-next (staged) or
    redis-password-previous (still in use by pods not rolled yet): a node restarted mid-rotation
    accepts them too, as the live ACL did. Sentinel mode reads REDIS_ANNOUNCE_HOST, REDIS_PORT,
    REDIS_SEED (host:port) and REDIS_SENTINELS (host:port ...) from the environment.
    """
    users = [
        'echo "user default off resetpass resetkeys resetchannels -@all"',
        f'echo "user {ADMIN_USER} on $admin ~* &* +@all"',
        "printf 'user %s on %s %s\\n' \"$agent_user\" \"$agent\" \"$(cat \"$conf/acl-agent-rules\")\"",
    ]
    if mode == "sentinel":
        users += [f'echo "user {REPLICATION_USER} on $replication {REPLICATION_RULES}"',
                  f'echo "user {SENTINEL_USER} on $sentinel {SENTINEL_ON_DATA_RULES}"']
    body = "" if mode != "sentinel" else (f'replication="#$(digest {REPLICATION_KEY})"\n'
                                          f'sentinel="#$(digest {SENTINEL_KEY})"\n')
    body += "{\n" + "".join(f"  {line}\n" for line in users) + "} > \"$run/users.acl\"\n"
    if mode == "sentinel":
        body += _ASK_SENTINELS + f"""masterauth="$(secret {REPLICATION_KEY})"
masterauth="$(quoted "$masterauth")"
announce="$(quoted "$REDIS_ANNOUNCE_HOST")"
master_host="$(quoted "${{master%:*}}")"
{{
  echo "port $REDIS_PORT"
  printf 'masterauth %s\n' "$masterauth"
  printf 'replica-announce-ip %s\n' "$announce"
  if [ "$master" != "$REDIS_ANNOUNCE_HOST:$REDIS_PORT" ]; then
    printf 'replicaof %s %s\n' "$master_host" "${{master##*:}}"
  fi
}} > "$run/runtime.conf"
"""
    return _script(body, auth_dir, config_dir, run_dir)


def sentinel_init_script(*, auth_dir: str = AUTH_DIR, config_dir: str = CONFIG_DIR, run_dir: str = RUN_DIR) -> str:
    """A Sentinel's init script: sentinel.conf from the fixed parts, the primary and the users.

    The Sentinel's id is derived from its announced address, so that a restarted Sentinel is the
    same voter to its peers rather than one more (which would skew the quorum's count).
    """
    body = _ASK_SENTINELS + f"""name="$(cat "$conf/master-name")"
quorum="$(cat "$conf/sentinel-quorum")"
peer_password="$(secret {SENTINEL_KEY})"
peer_password="$(quoted "$peer_password")"
peer="#$(digest {SENTINEL_KEY})"
announce="$(quoted "$REDIS_ANNOUNCE_HOST")"
master_host="$(quoted "${{master%:*}}")"
myid="$(printf '%s' "$REDIS_ANNOUNCE_HOST:$REDIS_PORT" | sha1sum | cut -c1-40)"
{{
  cat "$conf/sentinel.conf"
  echo "port $REDIS_PORT"
  echo "sentinel myid $myid"
  printf 'sentinel announce-ip %s\n' "$announce"
  printf 'sentinel monitor %s %s %s %s\n' "$name" "$master_host" "${{master##*:}}" "$quorum"
  cat "$conf/sentinel-master.conf"
  printf 'sentinel auth-pass %s %s\n' "$name" "$peer_password"
  echo "sentinel sentinel-user {SENTINEL_USER}"
  printf 'sentinel sentinel-pass %s\n' "$peer_password"
  echo "user default off resetpass resetkeys resetchannels -@all"
  echo "user {ADMIN_USER} on $admin ~* &* +@all"
  echo "user {SENTINEL_USER} on $peer {SENTINEL_ON_SENTINEL_RULES}"
  printf 'user %s on %s %s\\n' "$agent_user" "$agent" "{DISCOVERY_RULES}"
}} > "$run/sentinel.conf"
"""
    return _script(body, auth_dir, config_dir, run_dir)


def config_files(*, mode: str, agent_user: str, agent_rules: str, master_name: str = "agentic", quorum: int = 2,
                 down_after_ms: int = 5000, failover_timeout_ms: int = 60000, bind: str = "* -::*",
                 data_dir: str = DATA_DIR, run_dir: str = RUN_DIR, sentinel_dir: str = RUN_DIR,
                 **conf) -> dict[str, str]:
    """The ConfigMap's files for a mode: redis.conf and the ACL user's files; sentinel mode adds
    the Sentinel's fixed configuration, the master name and the quorum."""
    files = {"redis.conf": data_conf(mode=mode, bind=bind, data_dir=data_dir, run_dir=run_dir, **conf),
             "acl-agent-user": agent_user, "acl-agent-rules": " ".join(agent_rules.split())}
    if mode == "sentinel":
        files.update({
            "sentinel.conf": sentinel_conf(bind=bind, work_dir=sentinel_dir),
            "sentinel-master.conf": sentinel_master_conf(master_name=master_name, down_after_ms=down_after_ms,
                                                         failover_timeout_ms=failover_timeout_ms),
            "master-name": master_name,
            "sentinel-quorum": str(int(quorum)),
        })
    return files


def data_host(namespace: str, index: int, domain: str = "cluster.local") -> str:
    """A data node's stable name: redis-<i>.redis-headless (the StatefulSet's governing Service)."""
    return f"redis-{index}.redis-headless.{namespace}.svc.{domain}"


def sentinel_addresses(namespace: str, count: int, domain: str = "cluster.local") -> list[str]:
    """host:port of every Sentinel (redis-sentinel-<i>.redis-sentinel-headless): what clients and
    the init scripts ask for the primary."""
    return [f"redis-sentinel-{i}.redis-sentinel-headless.{namespace}.svc.{domain}:{SENTINEL_PORT}"
            for i in range(int(count))]


def sentinel_min_available(sentinels: int, quorum: int) -> int:
    """Sentinels a disruption must leave: a failover needs the quorum to agree the primary is down
    and a majority of all Sentinels to elect the one that promotes a replica."""
    return max(int(quorum), int(sentinels) // 2 + 1)


def node_addresses(namespace: str, replicas: int, sentinels: int, domain: str = "cluster.local") -> list[str]:
    """host:port of every node of a sentinel-mode Redis, data nodes then Sentinels: where a secret
    rotation changes the agents' password."""
    return [f"{data_host(namespace, i, domain)}:{REDIS_PORT}" for i in range(int(replicas) + 1)] + \
        sentinel_addresses(namespace, sentinels, domain)


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of "host:port", None when it is not one."""
    host, sep, port = str(address).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)
