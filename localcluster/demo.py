"""Check a converged region on the real node from inside the cluster, as `make demo` ends.

    python -m localcluster.demo [CLUSTER] [NAMESPACE]        # default: local agentic-ai-prod

- a probe pod in a namespace of its own asks the agent's Service for /health and /ready;
- inside an agent pod, a client connects to Redis by its Service name and authenticates as the
  ACL user `agent` with the password file the pod mounts (the password never leaves the pod).

Prints one line per check and exits non-zero if one fails.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

from localcluster import cluster, images, node

PROBE = """
import json, sys, urllib.request
out = {}
for path in ("/health", "/ready"):
    try:
        with urllib.request.urlopen(sys.argv[1] + path, timeout=5) as r:
            out[path] = [r.status, r.read().decode()[:200]]
    except Exception as e:
        out[path] = [getattr(e, "code", 0), str(e)[:200]]
print(json.dumps(out))
"""

# RESP over a socket: PING without credentials (refused), then AUTH as the pod's user with
# the mounted password file and PING.
REDIS_AS_AGENT = """
import json, os, socket
password = open(os.environ["REDIS_PASSWORD_FILE"]).read().strip()
def command(sock, *args):
    sock.sendall(("*%d\\r\\n" % len(args) + "".join("$%d\\r\\n%s\\r\\n" % (len(a.encode()), a) for a in args)).encode())
    return sock.recv(4096).decode().strip()
out = {}
with socket.create_connection(("redis", 6379), 5) as s:
    out["unauthenticated"] = command(s, "PING")
with socket.create_connection(("redis", 6379), 5) as s:
    out["auth"] = command(s, "AUTH", os.environ["REDIS_USERNAME"], password)
    out["ping"] = command(s, "PING")
print(json.dumps(out))
"""


def _probe_pod(name: str, url: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never", "automountServiceAccountToken": False,
            "nodeSelector": {"kubernetes.io/hostname": node.NODE_NAME},
            "tolerations": [{**node.TAINT, "operator": "Equal"}],
            "containers": [{
                "name": "probe", "image": images.AGENT_IMAGE, "imagePullPolicy": "Never",
                "command": ["python3", "-c", PROBE, url],
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}},
            }],
        },
    }


def check(name: str, namespace: str) -> dict:
    """The agent's /health and /ready through its Service, and Redis as the agent sees it."""
    probe_ns = f"demo-probe-{uuid.uuid4().hex[:6]}"
    cluster.kubectl(name, "create", "namespace", probe_ns)
    try:
        url = f"http://mcp-agent.{namespace}.svc.cluster.local:8080"
        cluster.kubectl(name, "-n", probe_ns, "apply", "-f", "-", input_text=json.dumps(_probe_pod("probe", url)))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            phase = cluster.kubectl(name, "-n", probe_ns, "get", "pod", "probe", "-o", "jsonpath={.status.phase}")
            if phase in ("Succeeded", "Failed"):
                break
            time.sleep(1)
        http = json.loads(cluster.kubectl(name, "-n", probe_ns, "logs", "probe").strip().splitlines()[-1])
    finally:
        cluster.kubectl(name, "delete", "namespace", probe_ns, "--wait=false", check=False)
    agent = cluster.kubectl(name, "-n", namespace, "get", "pod", "-l", "app.kubernetes.io/name=mcp-agent",
                            "-o", "jsonpath={.items[0].metadata.name}")
    redis = json.loads(cluster.kubectl(name, "-n", namespace, "exec", agent, "-c", "mcp-agent", "--",
                                       "python3", "-c", REDIS_AS_AGENT).strip())
    nodes = set(cluster.kubectl(name, "-n", namespace, "get", "pods", "-o",
                                "jsonpath={.items[*].spec.nodeName}").split())
    return {"http": http, "redis": redis, "nodes": sorted(nodes)}


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "local"
    namespace = argv[1] if len(argv) > 1 else "agentic-ai-prod"
    result = check(name, namespace)
    ok = True
    for path, (status, body) in result["http"].items():
        print(f"agent {path} through Service mcp-agent: HTTP {status} {body}")
        ok &= status == 200
    redis = result["redis"]
    print(f"Redis from an agent pod, by Service name: without credentials {redis['unauthenticated']}; "
          f"AUTH as user agent {redis['auth']}, PING {redis['ping']}")
    ok &= redis["unauthenticated"].startswith("-NOAUTH") and redis["auth"] == "+OK" and redis["ping"] == "+PONG"
    print(f"pods of {namespace} run on: {', '.join(result['nodes'])}")
    ok &= result["nodes"] == [node.NODE_NAME]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
