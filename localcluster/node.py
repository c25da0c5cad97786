"""A real Kubernetes node next to the kwok pools: containerd + runc, kubelet, kube-proxy,
kube-router's NetworkPolicy firewall and CoreDNS, in a network namespace of its own.

Nothing touches the host's networking or its own cgroups: the node's processes run in the
network namespace `agentic-<cluster>` (nsenter, so they share the host's mount namespace, which
kubelet and containerd need to see each other's mounts), pods get veth pairs into that namespace
(CNI ptp, no masquerade, no route out), and kubelet puts its pods' cgroups under
`/agentic-<cluster>` in each cgroup v1 hierarchy. The control plane stays on host loopback;
`localcluster.nodeproxy` connects the two.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from localcluster import build, images

NODE_NAME = "real-0"
NODE_IP = "10.240.0.1"            # on the namespace's loopback device (this kernel has no dummy links)
POD_CIDR = "10.245.0.0/24"         # outside kwok's 10.244.0.0/16: policies match pods by address
CLUSTER_CIDR = "10.244.0.0/15"
DNS_SERVICE_IP = "10.96.0.10"
CNI_BIN = "/usr/lib/cni"          # Debian's containernetworking-plugins
RUNC = "/usr/sbin/runc"           # Debian's runc
# Pods land here only if they ask (localcluster/real-node-vars.yml tolerates it): the
# inventories' converges keep running on kwok.
TAINT = {"key": "agentic.platform/real-node", "value": "true", "effect": "NoSchedule"}
COMPONENTS = ["nodeproxy", "containerd", "kubelet", "kube-proxy", "kube-router"]
# Files each component reads only at start (under the node's directory): a change restarts it.
CONFIG_FILES = {
    "containerd": ["containerd/config.toml"],
    "kubelet": ["kubelet/config.yaml", "kubelet.kubeconfig"],
    "kube-proxy": ["kube-proxy.yaml", "kube-proxy.kubeconfig"],
    "kube-router": ["kube-router-firewall.kubeconfig"],
}


def netns(name: str) -> str:
    return f"agentic-{name}"


def node_dir(cluster_dir: Path) -> Path:
    return cluster_dir / "node"


def cgroup_root(name: str) -> str:
    return f"/agentic-{name}"


def volumes_dir(cluster_dir: Path) -> Path:
    return node_dir(cluster_dir) / "volumes"


def ensure_volumes(name: str) -> None:
    """The directories behind the cluster's hostPath PersistentVolumes (localcluster's
    `local-pv-*`, as the API has them: a cluster that gained its real node later keeps its older
    paths). fsGroup does not apply to hostPath volumes, so they are writable by any user: pods
    run as non-root users."""
    from localcluster.cluster import kubectl
    for pv in json.loads(kubectl(name, "get", "persistentvolumes", "-o", "json"))["items"]:
        if pv["metadata"]["name"].startswith("local-pv-") and "hostPath" in pv["spec"]:
            path = Path(pv["spec"]["hostPath"]["path"])
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o1777)


def egress_socket(cluster_dir: Path) -> Path:
    return node_dir(cluster_dir) / "egress.sock"


# --- PKI ---------------------------------------------------------------------------------

# kube-router runs only its NetworkPolicy firewall here; its identity is bound to this role
# alone (the read-only part of kube-router's own ClusterRole, daemonset/generic-kuberouter.yaml:
# its informers watch all of these at start; leases and services/status serve the router and
# the service proxy, which stay off).
KUBE_ROUTER_USER = "agentic:kube-router-firewall"
KUBE_ROUTER_RULES = [
    {"apiGroups": [""], "resources": ["namespaces", "pods", "services", "nodes", "endpoints"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
]


def ensure_node_pki(pki: Path) -> None:
    """Client certificates of the node's components and the kubelet's serving certificate,
    signed by the cluster CA; each written once."""
    from localcluster.cluster import _cert, _write_key
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    identities = {
        "kubelet": (f"system:node:{NODE_NAME}", "system:nodes", "client", ()),
        "kubelet-serving": (NODE_NAME, None, "server", (NODE_IP, NODE_NAME)),
        "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters", "client", ()),
        "kube-proxy": ("system:kube-proxy", None, "client", ()),
        "kube-router-firewall": (KUBE_ROUTER_USER, None, "client", ()),
    }
    for stale in ("kube-router.crt", "kube-router.key"):  # the former system:masters identity
        (pki / stale).unlink(missing_ok=True)
    for ident, (cn, org, usage, sans) in identities.items():
        if (pki / f"{ident}.crt").exists():
            continue
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, org, key, ca, ca_key, sans=sans, usage=usage)
        _write_key(pki / f"{ident}.key", key)
        (pki / f"{ident}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def apiserver_flags(cluster_dir: Path) -> list[str]:
    """What the API server needs to reach the kubelet: a client certificate, and the egress
    selector that sends `cluster` traffic through the node proxy's CONNECT socket."""
    pki = cluster_dir / "pki"
    config = node_dir(cluster_dir) / "egress-selector.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump({
        "apiVersion": "apiserver.k8s.io/v1beta1", "kind": "EgressSelectorConfiguration",
        "egressSelections": [{"name": "cluster", "connection": {
            "proxyProtocol": "HTTPConnect", "transport": {"uds": {"udsName": str(egress_socket(cluster_dir))}}}}],
    }))
    return [f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--egress-selector-config-file={config}",
            "--kubelet-preferred-address-types=InternalIP"]


# --- configuration files -----------------------------------------------------------------

def _write(path: Path, text: str) -> None:
    """Write only what changed: kube-proxy exits when its configuration file is written to."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)

def _kubeconfig(path: Path, server: str, pki: Path, identity: str) -> str:
    _write(path, yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "node",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": identity, "user": {"client-certificate": str(pki / f"{identity}.crt"),
                                               "client-key": str(pki / f"{identity}.key")}}],
        "contexts": [{"name": "node", "context": {"cluster": "local", "user": identity}}],
    }))
    path.chmod(0o600)
    return str(path)


def _write_configs(name: str, spec: dict, cluster_dir: Path) -> dict[str, list[str]]:
    from localcluster.cluster import SERVICE_CIDR as service_cidr
    d, pki = node_dir(cluster_dir), cluster_dir / "pki"
    for sub in ("containerd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    server = f"https://127.0.0.1:{spec['ports']['apiserver']}"  # the node proxy, inside the namespace
    sock = d / "containerd" / "containerd.sock"
    _write(d / "containerd" / "config.toml", f"""version = 3
root = "{d / 'containerd' / 'root'}"
state = "{d / 'containerd' / 'state'}"
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d / 'containerd' / 'opt'}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{images.PAUSE_IMAGE}"

[plugins."io.containerd.cri.v1.runtime"]
  # Root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj (kubelet asks -998 for sandboxes)
  # is refused, so keep every container at or above containerd's own.
  restrict_oom_score_adj = true
  # The pods' network namespaces are pinned under the node's state (not /run/netns), so that
  # `down` finds and removes exactly this node's.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        Root = "{d / 'containerd' / 'runc'}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{CNI_BIN}"]
    conf_dir = "{d / 'cni' / 'net.d'}"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
""")
    _write(d / "cni" / "net.d" / "10-agentic.conflist", json.dumps({
        "cniVersion": "1.0.0", "name": cni_network(name),
        "plugins": [{"type": "ptp", "ipMasq": False, "mtu": 1500,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR}]],
                              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(d / "cni" / "ipam")}},
                    {"type": "portmap", "capabilities": {"portMappings": True}}],
    }, indent=2))
    # Pods resolve through cluster DNS only; the host's resolvers are not theirs.
    _write(d / "resolv.conf", "")
    zone = spec["zones"][0]
    _write(d / "kubelet" / "config.yaml", yaml.safe_dump({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "failCgroupV1": False, "cgroupDriver": "cgroupfs", "cgroupRoot": cgroup_root(name),
        "containerRuntimeEndpoint": f"unix://{sock}",
        "address": NODE_IP, "port": 10250, "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": 10248,
        "tlsCertFile": str(pki / "kubelet-serving.crt"), "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [DNS_SERVICE_IP], "clusterDomain": "cluster.local",
        "resolvConf": str(d / "resolv.conf"), "podLogsDir": str(d / "pod-logs"),
        "failSwapOn": False, "maxPods": 40, "serializeImagePulls": False,
        # This is a shared build machine: never evict for its disk, and never collect the
        # images this node cannot pull again.
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "registerWithTaints": [TAINT],
        "nodeStatusReportFrequency": "10s",
    }))
    labels = {"workload": "general", "node-pool": "real", "agentic.platform/real-node": "true",
              "topology.kubernetes.io/region": spec["region"], "topology.kubernetes.io/zone": zone}
    _write(d / "kube-proxy.yaml", yaml.safe_dump({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": _kubeconfig(d / "kube-proxy.kubeconfig", server, pki, "kube-proxy")},
        "hostnameOverride": NODE_NAME, "mode": "nftables", "clusterCIDR": CLUSTER_CIDR,
        # Leave the machine-wide conntrack table size alone (the only non-namespaced setting).
        "conntrack": {"maxPerCore": 0, "min": 0},
        "metricsBindAddress": "127.0.0.1:10249", "healthzBindAddress": "127.0.0.1:10256",
    }))
    api_port = spec["ports"]["apiserver"]
    return {
        # The standard library only; one interpreter path whichever venv alias (python, python3)
        # ran `up`, so that `up` sees the same command line and keeps the proxy running.
        "nodeproxy": [str(Path(sys.executable).resolve()), "-m", "localcluster.nodeproxy", netns(name), str(api_port),
                      NODE_IP, str(egress_socket(cluster_dir))],
        "containerd": [str(build.binary("containerd")), f"--config={d / 'containerd' / 'config.toml'}"],
        "kubelet": [
            str(build.binary("kubelet")), f"--config={d / 'kubelet' / 'config.yaml'}",
            f"--kubeconfig={_kubeconfig(d / 'kubelet.kubeconfig', server, pki, 'kubelet')}",
            f"--root-dir={d / 'kubelet' / 'root'}", f"--hostname-override={NODE_NAME}", f"--node-ip={NODE_IP}",
            "--node-labels=" + ",".join(f"{k}={v}" for k, v in labels.items()), "--v=1",
        ],
        "kube-proxy": [str(build.binary("kube-proxy")), f"--config={d / 'kube-proxy.yaml'}", "--v=1"],
        "kube-router": [
            str(build.binary("kube-router")),
            f"--kubeconfig={_kubeconfig(d / 'kube-router-firewall.kubeconfig', server, pki, 'kube-router-firewall')}",
            f"--hostname-override={NODE_NAME}", "--run-firewall=true", "--run-router=false",
            "--run-service-proxy=false", "--enable-cni=false", "--health-port=0", "--metrics-port=0",
            f"--service-cluster-ip-range={service_cidr}", "--v=1",
        ],
    }


# --- the network namespace ---------------------------------------------------------------

def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def ensure_netns(name: str) -> None:
    ns = netns(name)
    if not Path(f"/run/netns/{ns}").exists():
        _ip("netns", "add", ns)
    _ip("-n", ns, "link", "set", "lo", "up")
    if NODE_IP not in _ip("-n", ns, "-4", "addr", "show", "dev", "lo").stdout:
        _ip("-n", ns, "addr", "add", f"{NODE_IP}/32", "dev", "lo")


def ensure_cgroup_root(name: str) -> None:
    """kubelet wants its cgroup root to exist in every hierarchy; a child cgroup of the host's
    root, removed by `down`. cpuset children start empty: they inherit the parent's CPUs and
    memory nodes."""
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        if not (hierarchy / "cgroup.procs").exists():
            continue
        top = hierarchy / cgroup_root(name).lstrip("/")
        top.mkdir(exist_ok=True)
        for setting in ("cpuset.cpus", "cpuset.mems"):
            if (top / setting).exists() and not (top / setting).read_text().strip():
                (top / setting).write_text((hierarchy / setting).read_text())


# --- processes ---------------------------------------------------------------------------

def _pids_file(cluster_dir: Path) -> Path:
    return node_dir(cluster_dir) / "pids.json"


def read_pids(cluster_dir: Path) -> dict[str, int]:
    try:
        return json.loads(_pids_file(cluster_dir).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _start(name: str, cluster_dir: Path, component: str, argv: list[str]) -> int:
    env = {**os.environ, "PATH": f"{build.binary('containerd').parent}:{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    if component == "kube-router":
        # kube-router calls ipset and iptables, as every enforcer of its kind does.
        env["PATH"] = f"/usr/sbin:/sbin:{env['PATH']}"
    log = open(cluster_dir / "logs" / f"node-{component}.log", "ab")  # noqa: SIM115 - handed to the child
    # The proxy switches namespaces itself; the others start inside the node's.
    prefix = [] if component == "nodeproxy" else ["nsenter", f"--net=/run/netns/{netns(name)}", "--"]
    proc = subprocess.Popen([*prefix, *argv], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env)
    pids = read_pids(cluster_dir)
    pids[component] = proc.pid
    _pids_file(cluster_dir).write_text(json.dumps(pids))
    return proc.pid


def _ctr(cluster_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    sock = node_dir(cluster_dir) / "containerd" / "containerd.sock"
    res = subprocess.run([str(build.binary("ctr")), f"--address={sock}", "-n", "k8s.io", *args],
                         capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise SystemExit(f"ctr {' '.join(args)} failed: {res.stderr.strip()}")
    return res


def import_images(cluster_dir: Path, archives: dict[str, Path]) -> None:
    present = set(_ctr(cluster_dir, "images", "ls", "-q").stdout.split())
    for ref, archive in archives.items():
        digest = archive.name.rsplit("-", 1)[-1].split(".")[0]
        if ref in present and digest in _ctr(cluster_dir, "images", "ls", f"name=={ref}").stdout:
            continue
        _ctr(cluster_dir, "images", "import", "--local", str(archive))


def up(name: str, spec: dict, cluster_dir: Path, wait) -> None:
    """Start (or reuse) the node's processes; `wait` is the cluster's wait helper."""
    from localcluster.cluster import _alive, _cmdline, _stop_group, kubectl
    ensure_netns(name)
    ensure_cgroup_root(name)
    ensure_volumes(name)
    archives = images.build_images()
    def configs() -> dict[str, list[str | None]]:
        return {c: [(node_dir(cluster_dir) / f).read_text() if (node_dir(cluster_dir) / f).exists() else None
                    for f in files] for c, files in CONFIG_FILES.items()}

    before = configs()
    commands = _write_configs(name, spec, cluster_dir)
    reconfigured = {c for c, texts in configs().items() if texts != before[c]}
    # Before the components: kube-router's RBAC, DNS, the `kubernetes` Service's endpoints.
    kubectl(name, "apply", "--server-side", "--field-manager=localcluster", "--force-conflicts", "-f", "-",
            input_text=yaml.safe_dump_all(cluster_manifests(name, spec)))
    running = {c: pid for c, pid in read_pids(cluster_dir).items() if _alive(pid)}
    for component in COMPONENTS:
        if component in running and _cmdline(running[component]) == commands[component] \
                and component not in reconfigured:
            continue
        if component in running:  # started with other flags or files (an older localcluster): restart it
            _stop_group(running[component])
        if component == "kube-router":
            # It looks its node up once, at start.
            wait("the real node registered", lambda: _registered(name), 120, name)
        _start(name, cluster_dir, component, commands[component])
        if component == "nodeproxy":
            wait("the node proxy", lambda: egress_socket(cluster_dir).exists(), 30, name)
        if component == "containerd":
            wait("containerd", lambda: _ctr(cluster_dir, "version", check=False).returncode == 0, 60, name)
            import_images(cluster_dir, archives)


def _registered(name: str) -> bool:
    from localcluster.cluster import kubectl
    return bool(kubectl(name, "get", "node", NODE_NAME, "-o", "name", check=False).strip())


def node_ready(name: str) -> bool:
    from localcluster.cluster import kubectl
    out = kubectl(name, "get", "node", NODE_NAME, "-o", "json", check=False)
    try:
        conditions = json.loads(out)["status"]["conditions"]
    except (ValueError, KeyError):
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def dns_ready(name: str) -> bool:
    from localcluster.cluster import kubectl
    out = kubectl(name, "-n", "kube-system", "get", "deployment", "coredns", "-o",
                  "jsonpath={.status.readyReplicas}", check=False)
    return out.strip() == "1"


def cluster_manifests(name: str, spec: dict) -> list[dict]:
    """What the node needs in the API: the `kubernetes` Service's endpoints (the node proxy on
    the node address), and cluster DNS (CoreDNS as a kube-system Deployment on this node)."""
    api_port = spec["ports"]["apiserver"]
    dns_labels = {"k8s-app": "kube-dns"}
    corefile = """.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        ttl 30
    }
    cache 30
}
"""
    rules = [{"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
              "verbs": ["list", "watch"]},
             {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]}]
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": KUBE_ROUTER_USER}, "rules": KUBE_ROUTER_RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": KUBE_ROUTER_USER},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": KUBE_ROUTER_USER},
         "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": KUBE_ROUTER_USER}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "kubernetes",
                                 "endpointslice.kubernetes.io/managed-by": "localcluster.agentic.platform"}},
         "addressType": "IPv4", "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
         "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "system:coredns"}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "system:coredns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
         "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system"},
         "data": {"Corefile": corefile}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": dns_labels},
         "spec": {"clusterIP": DNS_SERVICE_IP, "selector": dns_labels,
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dns_labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": dns_labels},
                  "template": {"metadata": {"labels": dns_labels}, "spec": {
                      "serviceAccountName": "coredns", "dnsPolicy": "Default",
                      "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
                      "tolerations": [{**TAINT, "operator": "Equal"}],
                      "containers": [{
                          "name": "coredns", "image": images.COREDNS_IMAGE, "imagePullPolicy": "Never",
                          "args": ["-conf", "/etc/coredns/Corefile"],
                          "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                          "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"},
                                    {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}],
                          "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                          "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
                          "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                      }],
                      "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                  }}}},
    ]


def _shim_pids(cluster_dir: Path) -> list[int]:
    """The containerd shims of this node (they outlive containerd by design)."""
    sock = str(node_dir(cluster_dir) / "containerd" / "containerd.sock")
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and sock.encode() in argv:
                pids.append(int(proc.name))
    return pids


def down(name: str, cluster_dir: Path) -> list[str]:
    """Stop the node's processes and pods, then remove its mounts, cgroups and namespace."""
    from localcluster.cluster import _alive, _stop_group
    pids = read_pids(cluster_dir)
    stopped = []
    for component in reversed(COMPONENTS):
        pid = pids.get(component)
        if component == "containerd" and pid and _alive(pid):
            # Pods outlive kubelet by design; a stopped node stops its containers.
            for task in _ctr(cluster_dir, "tasks", "ls", "-q", check=False).stdout.split():
                _ctr(cluster_dir, "tasks", "kill", "-s", "SIGKILL", task, check=False)
            time.sleep(0.5)
            for task in _ctr(cluster_dir, "tasks", "ls", "-q", check=False).stdout.split():
                _ctr(cluster_dir, "tasks", "delete", "-f", task, check=False)
        if pid and _alive(pid):
            _stop_group(pid)
            stopped.append(f"node {component}")
    for pid in _shim_pids(cluster_dir):
        _stop_group(pid, grace=5)
    _pids_file(cluster_dir).unlink(missing_ok=True)
    _unmount_under(node_dir(cluster_dir))
    _remove_log_links(node_dir(cluster_dir))
    _remove_cni_results(name)
    _remove_cgroups(name)
    if Path(f"/run/netns/{netns(name)}").exists():
        _ip("netns", "del", netns(name), check=False)
    return stopped


def _unmount_under(path: Path) -> None:
    prefix = str(path) + "/"
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mountpoint in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mountpoint], capture_output=True, check=False)


def _remove_log_links(path: Path) -> None:
    """kubelet links each container's log into /var/log/containers (a fixed path): drop ours."""
    links = Path("/var/log/containers")
    for link in links.iterdir() if links.is_dir() else ():
        if link.is_symlink() and str(Path(os.readlink(link))).startswith(str(path) + "/"):
            link.unlink()


def cni_network(name: str) -> str:
    return f"agentic-{name}"


def cni_results(name: str) -> list[Path]:
    """libcni caches each pod's results in /var/lib/cni/results (a fixed path, named after the
    network and the sandbox: ours and containerd's `cni-loopback`); a pod stopped by `down`
    never gets its CNI DEL."""
    results = Path("/var/lib/cni/results")
    files = list(results.iterdir()) if results.is_dir() else []
    ours = re.compile(rf"{re.escape(cni_network(name))}-([0-9a-f]{{64}})-")
    sandboxes = {m.group(1) for p in files if (m := ours.match(p.name))}
    loopback = re.compile(r"cni-loopback-([0-9a-f]{64})-")
    return [p for p in files if ours.match(p.name)
            or ((m := loopback.match(p.name)) and m.group(1) in sandboxes)]


def _remove_cni_results(name: str) -> None:
    for path in cni_results(name):
        path.unlink(missing_ok=True)


def _remove_cgroups(name: str) -> None:
    root = Path("/sys/fs/cgroup")
    for hierarchy in root.iterdir() if root.exists() else ():
        top = hierarchy / cgroup_root(name).lstrip("/")
        if not top.is_dir():
            continue
        for d in [*sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True),
                  top]:
            with contextlib.suppress(OSError):  # a cgroup still in use stays; the next down retries
                d.rmdir()


def status(cluster_dir: Path) -> dict:
    from localcluster.cluster import _alive
    pids = read_pids(cluster_dir)
    return {f"node {c}": {"pid": pids.get(c), "running": bool(pids.get(c)) and _alive(pids[c])} for c in COMPONENTS}
