"""Start, stop and inspect real local Kubernetes control planes, one per region name.

Each cluster is etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok, run as
plain processes on loopback. kwok plays the kubelets: it keeps fake nodes (CPU and GPU pools)
Ready and moves pods scheduled onto them through their lifecycle. PIDs are recorded so that
`down` stops exactly what `up` started.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from localcluster import build, node

HERE = Path(__file__).resolve().parent
SERVICE_CIDR = "10.96.0.0/16"
KWOK_POD_CIDR = "10.244.0.0/16"   # the addresses kwok gives its pods (a real node's pods use others)
ADMISSION_PLUGINS = ",".join([
    "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "PodSecurity", "ResourceQuota",
    "DefaultStorageClass", "DefaultTolerationSeconds", "ExtendedResourceToleration",
    "NodeRestriction", "Priority", "RuntimeClass", "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize", "TaintNodesByCondition", "MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook", "ValidatingAdmissionPolicy", "CertificateApproval",
    "CertificateSigning", "CertificateSubjectRestriction", "DefaultIngressClass",
])
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]


def state_root() -> Path:
    return Path(os.environ.get("AGENTIC_STATE", Path.home() / ".local" / "share" / "agentic-platform"))


def definitions() -> dict:
    return yaml.safe_load((HERE / "clusters.yml").read_text())


def cluster_spec(name: str) -> dict:
    defs = definitions()
    if name not in defs["clusters"]:
        raise SystemExit(f"unknown cluster {name!r}; known: {', '.join(defs['clusters'])}")
    spec = {**defs["defaults"], **defs["clusters"][name], "name": name}
    port = spec["port"]
    spec["ports"] = {
        "apiserver": port, "etcd": port + 1000, "etcd_peer": port + 2000,
        "controller_manager": port + 3000, "scheduler": port + 4000, "kwok": port + 5000,
    }
    return spec


def cluster_dir(name: str) -> Path:
    return state_root() / "clusters" / name


def kubeconfig_path(name: str) -> Path:
    return cluster_dir(name) / "kubeconfig"


def context_name(name: str) -> str:
    return f"agentic-{name}"


# --- PKI ---------------------------------------------------------------------------------

def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)


def _cert(subject_cn, org, key, issuer_cert, issuer_key, *, ca=False, sans=(), usage="client"):
    now = dt.datetime.now(dt.UTC)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    subject = x509.Name(attrs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        oid = x509.ExtendedKeyUsageOID.SERVER_AUTH if usage == "server" else x509.ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([oid]), critical=False)
    if sans:
        names = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def ensure_pki(pki: Path) -> None:
    """CA, API server serving cert, one client cert per component, service-account key pair."""
    if (pki / "done").exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("agentic-local-ca", None, ca_key, None, None, ca=True)
    _write_key(pki / "ca.key", ca_key)
    (pki / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    first_service_ip = str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))
    sans = ["127.0.0.1", "localhost", first_service_ip, "kubernetes", "kubernetes.default",
            "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
    identities = {
        "apiserver": ("kube-apiserver", None, "server"),
        "admin": ("agentic-admin", "system:masters", "client"),
        "controller-manager": ("system:kube-controller-manager", None, "client"),
        "scheduler": ("system:kube-scheduler", None, "client"),
        "kwok": ("kwok-controller", "system:masters", "client"),
    }
    for name, (cn, org, usage) in identities.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, org, key, ca, ca_key, sans=sans if usage == "server" else (), usage=usage)
        _write_key(pki / f"{name}.key", key)
        (pki / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (pki / "done").write_text("ok\n")


def write_kubeconfig(path: Path, name: str, server: str, pki: Path, identity: str) -> None:
    ctx = context_name(name)
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": ctx,
        "clusters": [{"name": ctx, "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": f"{ctx}-{identity}", "user": {
            "client-certificate": str(pki / f"{identity}.crt"), "client-key": str(pki / f"{identity}.key")}}],
        "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": f"{ctx}-{identity}"}}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


# --- processes ---------------------------------------------------------------------------

def _commands(spec: dict, d: Path) -> dict[str, list[str]]:
    p, pki = spec["ports"], d / "pki"
    server = f"https://127.0.0.1:{p['apiserver']}"
    kc = {n: str(d / f"{n}.kubeconfig") for n in ("controller-manager", "scheduler", "kwok")}
    for n in kc:
        write_kubeconfig(Path(kc[n]), spec["name"], server, pki, n)
    return {
        "etcd": [
            str(build.binary("etcd")), "--name=default", f"--data-dir={d / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{p['etcd']}",
            f"--advertise-client-urls=http://127.0.0.1:{p['etcd']}",
            f"--listen-peer-urls=http://127.0.0.1:{p['etcd_peer']}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{p['etcd_peer']}",
            f"--initial-cluster=default=http://127.0.0.1:{p['etcd_peer']}",
            "--listen-metrics-urls=", "--quota-backend-bytes=4294967296",
            # A throwaway test cluster: durability across power loss is not worth the fsyncs.
            "--unsafe-no-fsync=true", "--log-level=warn",
        ],
        "kube-apiserver": [
            str(build.binary("kube-apiserver")),
            f"--etcd-servers=http://127.0.0.1:{p['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={p['apiserver']}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC", f"--enable-admission-plugins={ADMISSION_PLUGINS}",
            # Privileged pods must reach admission so that Pod Security is what refuses them.
            "--allow-privileged=true", "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false", "--v=0",
            *(node.apiserver_flags(d) if spec.get("real_node") else []),
        ],
        "kube-controller-manager": [
            str(build.binary("kube-controller-manager")), f"--kubeconfig={kc['controller-manager']}",
            f"--authentication-kubeconfig={kc['controller-manager']}",
            f"--authorization-kubeconfig={kc['controller-manager']}",
            "--bind-address=127.0.0.1", f"--secure-port={p['controller_manager']}",
            "--leader-elect=false", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle-controller",
            "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10", "--v=0",
        ],
        "kube-scheduler": [
            str(build.binary("kube-scheduler")), f"--kubeconfig={kc['scheduler']}",
            f"--authentication-kubeconfig={kc['scheduler']}", f"--authorization-kubeconfig={kc['scheduler']}",
            "--bind-address=127.0.0.1", f"--secure-port={p['scheduler']}", "--leader-elect=false", "--v=0",
        ],
        "kwok": [
            str(build.binary("kwok")), f"--kubeconfig={kc['kwok']}",
            f"--config={build.kwok_stages()}",
            "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--node-ip=127.0.0.1", f"--server-address=127.0.0.1:{p['kwok']}",
            "--node-lease-duration-seconds=40", f"--cidr={KWOK_POD_CIDR}",
        ],
    }


def _pids_file(name: str) -> Path:
    return cluster_dir(name) / "pids.json"


def _read_pids(name: str) -> dict[str, int]:
    try:
        return json.loads(_pids_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); look at its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _start(name: str, component: str, argv: list[str]) -> int:
    d = cluster_dir(name)
    log = open(d / "logs" / f"{component}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    pids = _read_pids(name)
    pids[component] = proc.pid
    _pids_file(name).write_text(json.dumps(pids))
    return proc.pid


def _ssl_context(pki: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    return ctx


def _get(url: str, pki: Path, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, context=_ssl_context(pki), timeout=timeout) as r:  # noqa: S310
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


def _wait(what: str, check, timeout: float, name: str, component: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if component and not _alive(_read_pids(name).get(component, -1)):
            tail = (cluster_dir(name) / "logs" / f"{component}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{component} of cluster {name} exited while waiting for {what}:\n{tail}")
        time.sleep(0.2)
    raise SystemExit(f"cluster {name}: timed out after {timeout:.0f}s waiting for {what}")


def kubectl(name: str, *args: str, input_text: str | None = None, check: bool = True) -> str:
    res = subprocess.run(
        [str(build.binary("kubectl")), f"--kubeconfig={kubeconfig_path(name)}", *args],
        input=input_text, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout


def up(name: str, *, quiet: bool = False) -> dict:
    """Start (or reuse) the cluster; return once every node is Ready. Idempotent and safe to
    call from several processes at once (they serialize on a lock file)."""
    d = cluster_dir(name)
    (d / "logs").mkdir(parents=True, exist_ok=True)
    with open(d / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _up_locked(name, d, quiet)


def _up_locked(name: str, d: Path, quiet: bool) -> dict:
    spec = cluster_spec(name)
    ensure_pki(d / "pki")
    pki = d / "pki"
    if spec.get("real_node"):
        build.build_all(node=True)
        node.ensure_node_pki(pki)
    server = f"https://127.0.0.1:{spec['ports']['apiserver']}"
    write_kubeconfig(kubeconfig_path(name), name, server, pki, "admin")
    started = time.monotonic()
    commands = _commands(spec, d)
    running = {c: pid for c, pid in _read_pids(name).items() if _alive(pid)}
    for component in COMPONENTS:
        # A component started with other flags (a cluster that gained a real node, a new
        # version's binary) is restarted with the ones wanted now.
        if component in running and _cmdline(running[component]) != commands[component]:
            _stop_group(running.pop(component))
    for component in COMPONENTS:
        if component in running:
            continue
        _start(name, component, commands[component])
        if component == "etcd":
            _wait("etcd", lambda: _port_open(spec["ports"]["etcd"]), 30, name, "etcd")
        if component == "kube-apiserver":
            _wait("kube-apiserver /readyz", lambda: _get(f"{server}/readyz", pki)[0] == 200, 90, name,
                  "kube-apiserver")
    _bootstrap(name, spec)
    if spec.get("real_node"):
        node.up(name, spec, d, _wait)
        _wait("the real node Ready", lambda: node.node_ready(name), 180, name)
        _wait("cluster DNS Ready", lambda: node.dns_ready(name), 180, name)
    _wait("all nodes Ready", lambda: _nodes_ready(name, spec), 120, name, "kwok")
    elapsed = time.monotonic() - started
    if not quiet:
        print(f"cluster {name} up in {elapsed:.1f}s: {server} (context {context_name(name)}, "
              f"kubeconfig {kubeconfig_path(name)})")
    return {"name": name, "server": server, "kubeconfig": str(kubeconfig_path(name)),
            "context": context_name(name), "seconds": elapsed}


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


def _stop_group(pid: int, grace: float = 15) -> None:
    """TERM the process group, then KILL it after `grace` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)


def _port_open(port: int) -> bool:
    import socket
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _expected_nodes(spec: dict) -> int:
    return sum(pool["count"] for pool in spec["node_pools"]) + (1 if spec.get("real_node") else 0)


def _nodes_ready(name: str, spec: dict) -> bool:
    out = kubectl(name, "get", "nodes", "-o", "json", check=False)
    try:
        items = json.loads(out)["items"]
    except (ValueError, KeyError):
        return False
    ready = [n for n in items if any(c["type"] == "Ready" and c["status"] == "True"
                                     for c in n.get("status", {}).get("conditions", []))]
    return len(ready) >= _expected_nodes(spec)


def _bootstrap(name: str, spec: dict) -> None:
    """CRDs, fake node pools, a default StorageClass with pre-provisioned volumes."""
    docs: list[dict] = []
    for path in build.crd_files():
        docs.extend(d for d in yaml.safe_load_all(Path(path).read_text()) if d)
    kubectl(name, "apply", "--server-side", "--field-manager=localcluster", "-f", "-",
            input_text=yaml.safe_dump_all(docs))
    # Only create what is missing: on a running cluster the node pools' taints and labels are
    # co-owned by the controller-manager and our gpu_nodes role, and must not be fought over.
    existing = set(kubectl(name, "get", "nodes,persistentvolumes,storageclasses", "-o", "name").split())
    prefixes = {"Node": "node/", "PersistentVolume": "persistentvolume/",
                "StorageClass": "storageclass.storage.k8s.io/"}
    missing = [m for m in node_manifests(spec) + storage_manifests(spec)
               if prefixes[m["kind"]] + m["metadata"]["name"] not in existing]
    if missing:
        kubectl(name, "apply", "--server-side", "--field-manager=localcluster", "-f", "-",
                input_text=yaml.safe_dump_all(missing))
    slices = resource_slice_manifests(spec, _node_uids(name, spec))
    if slices:  # owned by localcluster alone: applied every time
        kubectl(name, "apply", "--server-side", "--field-manager=localcluster", "-f", "-",
                input_text=yaml.safe_dump_all(slices))
    kubectl(name, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    # Established is not enough: until a CRD's watch cache has initialized, lists answer 429
    # "storage is (re)initializing", and the first converge on a new cluster would hit that.
    server, pki = f"https://127.0.0.1:{spec['ports']['apiserver']}", cluster_dir(name) / "pki"
    pending = crd_list_paths(d for d in docs if d.get("kind") == "CustomResourceDefinition")

    def all_listable() -> bool:
        pending[:] = [path for path in pending if _get(server + path, pki)[0] != 200]
        return not pending

    _wait("every CRD's resources to be listable", all_listable, 60, name, "kube-apiserver")


def crd_list_paths(crds) -> list[str]:
    """The list URL of every served version of every CRD (one answer per resource and version)."""
    return [f"/apis/{crd['spec']['group']}/{version['name']}/{crd['spec']['names']['plural']}"
            for crd in crds for version in crd["spec"]["versions"] if version.get("served", True)]


DRA_DRIVER = "gpu.nvidia.com"  # NVIDIA's DRA driver for GPUs (plugins/module_utils/gpu_dra.py)


def _node_uids(name: str, spec: dict) -> dict[str, str]:
    if not any(pool.get("gpus") for pool in spec["node_pools"]):
        return {}
    found = json.loads(kubectl(name, "get", "nodes", "-l", "nvidia.com/gpu.present=true", "-o", "json"))
    return {n["metadata"]["name"]: n["metadata"]["uid"] for n in found["items"]}


def resource_slice_manifests(spec: dict, uids: dict[str, str]) -> list[dict]:
    """What NVIDIA's DRA driver would publish for each kwok GPU node: a pool named after the node,
    its GPUs as devices with product name and memory (the pool's gpu_product and gpu_memory), so
    that the real kube-scheduler allocates claims. Owned by the node: deleted with it."""
    slices = []
    for pool in spec["node_pools"]:
        for i in range(pool["count"] if pool.get("gpus") else 0):
            node_name = f"{pool['name']}-{i}"
            if node_name not in uids:
                continue
            slices.append({
                "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
                "metadata": {"name": f"{node_name}-{DRA_DRIVER}",
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                                  "uid": uids[node_name]}]},
                "spec": {"driver": DRA_DRIVER, "nodeName": node_name,
                         "pool": {"name": node_name, "generation": 1, "resourceSliceCount": 1},
                         "devices": [{"name": f"gpu-{g}",
                                      # the product label's dashes are the product name's spaces
                                      "attributes": {"type": {"string": "gpu"},
                                                     "productName": {"string": pool["gpu_product"].replace("-", " ")},
                                                     "index": {"int": g}},
                                      "capacity": {"memory": {"value": pool["gpu_memory"]}}}
                                     for g in range(pool["gpus"])]}})
    return slices


def node_manifests(spec: dict) -> list[dict]:
    zones = spec["zones"]
    nodes = []
    for pool in spec["node_pools"]:
        for i in range(pool["count"]):
            zone = zones[i % len(zones)]
            labels = {
                "kubernetes.io/hostname": f"{pool['name']}-{i}", "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "type": "kwok", "node-pool": pool["name"],
                "topology.kubernetes.io/region": spec["region"], "topology.kubernetes.io/zone": zone,
                **pool.get("labels", {}),
            }
            capacity = {"cpu": pool["cpu"], "memory": pool["memory"], "pods": "110",
                        "ephemeral-storage": "500Gi"}
            if pool.get("gpus"):
                labels.update({"nvidia.com/gpu.product": pool["gpu_product"],
                               "nvidia.com/gpu.count": str(pool["gpus"])})
                capacity["nvidia.com/gpu"] = str(pool["gpus"])
            nodes.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": f"{pool['name']}-{i}", "labels": labels,
                             "annotations": {"kwok.x-k8s.io/node": "fake",
                                             "node.alpha.kubernetes.io/ttl": "0"}},
                "spec": {"taints": pool.get("taints", [])},
                "status": {"capacity": capacity, "allocatable": capacity},
            })
    return nodes


def storage_manifests(spec: dict) -> list[dict]:
    """No volume provisioner runs here: a default class and a pool of PVs the binder can use."""
    docs: list[dict] = [{
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain", "allowVolumeExpansion": True,
    }]
    # kwok's pods never mount them; a real node's pods do, so theirs live in the cluster's state.
    root = node.volumes_dir(cluster_dir(spec["name"])) if spec.get("real_node") else Path("/var/lib/local-pv")
    for i in range(spec["persistent_volumes"]):
        docs.append({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"local-pv-{i}"},
            "spec": {"capacity": {"storage": spec["persistent_volume_size"]},
                     "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                     "persistentVolumeReclaimPolicy": "Retain",
                     "hostPath": {"path": str(root / str(i))}},
        })
    return docs


def down(name: str, *, purge: bool = False) -> list[str]:
    """Stop every recorded process in reverse start order (TERM, then KILL after 15 s), so that
    the API server drains while etcd still answers; optionally delete the cluster's state."""
    stopped = node.down(name, cluster_dir(name)) if node.read_pids(cluster_dir(name)) else []
    pids = _read_pids(name)
    for component in reversed(COMPONENTS):
        pid = pids.get(component)
        if not pid or not _alive(pid):
            continue
        _stop_group(pid)
        stopped.append(component)
    _pids_file(name).unlink(missing_ok=True)
    if purge:
        shutil.rmtree(cluster_dir(name), ignore_errors=True)
    return stopped


def status(name: str) -> dict:
    pids = _read_pids(name)
    procs = {c: {"pid": pids.get(c), "running": bool(pids.get(c)) and _alive(pids[c])} for c in COMPONENTS}
    if cluster_spec(name).get("real_node"):
        procs.update(node.status(cluster_dir(name)))
    return {"name": name, "processes": procs, "kubeconfig": str(kubeconfig_path(name)),
            "context": context_name(name), "port": cluster_spec(name)["port"]}
