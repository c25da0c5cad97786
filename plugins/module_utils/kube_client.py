"""A small Kubernetes API client on the standard library, for actions that run in the controller.

Why not the kubernetes client: importing it costs ~0.3 s and kubernetes.core's modules another
~0.5 s of AnsiballZ per task; site.yml's steps run in-controller with this client instead
(one keep-alive HTTPS connection, JSON only). It reads the same kubeconfig: client
certificates, bearer tokens and token files, basic auth, exec credential plugins (EKS, GKE,
AKS) and the in-cluster service account. It retries what is safe to retry (``KubeClient.call``),
trusts only the cluster's CA when the kubeconfig names one, and sends no credentials over http.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import ssl
import stat
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlencode, urlsplit

IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
APPLY_PATCH = "application/apply-patch+yaml"

# Sent again when they fail transiently: reads, and writes whose repetition changes nothing
# (server-side apply, PUT, DELETE). A POST is never sent twice: the server may have acted on it
# before the connection broke (with generateName, a second object).
_REPEATABLE_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE"))
# Statuses the API server uses for "not now" (a watch cache still initializing, API priority and
# fairness) with a Retry-After; a 503 without one is not retried, as in client-go.
_RETRY_STATUSES = frozenset((429, 503))
# A connection refused, reset, or closed while idle (a keep-alive connection the server dropped).
_CONNECTION_ERRORS = (ConnectionError, http.client.ImproperConnectionState, http.client.IncompleteRead,
                      ssl.SSLEOFError, ssl.SSLZeroReturnError)
RETRY_AFTER_MAX = 10.0  # seconds: a longer Retry-After is not waited for in full
CONNECTION_ATTEMPTS = 5  # an API server restarting takes a few seconds; a wrong address fails fast


class KubeError(Exception):
    """A configuration or connection problem (no HTTP status)."""


class ApiError(Exception):
    def __init__(self, status: int, reason: str, body: str = ""):
        self.status = status
        self.reason = reason
        self.body = body
        try:
            message = json.loads(body).get("message") or body
        except (ValueError, AttributeError):
            message = body
        super().__init__(f"{status} {reason}: {str(message)[:600]}")


# ---------------------------------------------------------------------------------------------
# kubeconfig
# ---------------------------------------------------------------------------------------------

def _by_name(items: list | None) -> dict:
    return {i["name"]: i for i in items or [] if isinstance(i, dict) and "name" in i}


def load_kubeconfig(path: str | None = None, context: str | None = None) -> dict:
    """The cluster and user of a context, as {'server', 'cluster', 'user', 'dir'}.

    ``path`` may list several files (os.pathsep), like KUBECONFIG; the first file to name an
    entry wins, as in kubectl.
    """
    import yaml  # here: the GPU host side of gpu_readiness imports this module without PyYAML

    paths = [p for p in (path or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config"))
             .split(os.pathsep) if p]
    merged: dict = {"contexts": {}, "clusters": {}, "users": {}, "current-context": None, "dirs": {}}
    found = False
    for p in paths:
        p = os.path.expanduser(p)
        if not os.path.exists(p):
            continue
        found = True
        with open(p, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
        for key in ("contexts", "clusters", "users"):
            for name, item in _by_name(doc.get(key)).items():
                merged[key].setdefault(name, item)
                merged["dirs"].setdefault((key, name), os.path.dirname(os.path.abspath(p)))
        merged["current-context"] = merged["current-context"] or doc.get("current-context")
    if not found:
        raise KubeError(f"no kubeconfig found at {':'.join(paths)}")
    name = context or merged["current-context"]
    if not name or name not in merged["contexts"]:
        raise KubeError(f"context '{name}' is not in the kubeconfig {':'.join(paths)}")
    ctx = merged["contexts"][name].get("context") or {}
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in merged["clusters"]:
        raise KubeError(f"cluster '{cluster_name}' of context '{name}' is not in the kubeconfig")
    cluster = merged["clusters"][cluster_name].get("cluster") or {}
    user = (merged["users"].get(user_name) or {}).get("user") or {}
    return {"server": cluster.get("server", ""), "cluster": cluster, "cluster_name": cluster_name, "user": user,
            "namespace": ctx.get("namespace"),
            "cluster_dir": merged["dirs"].get(("clusters", cluster_name), "."),
            "user_dir": merged["dirs"].get(("users", user_name), ".")}


def _file(base: str, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(base, path)


def _refuse_credentials_over_http(server: str, has_credentials) -> None:
    if has_credentials and urlsplit(server).scheme == "http":
        raise KubeError(f"the API server {server} is plain http: credentials (a token, basic auth, an exec "
                        "plugin's) are never sent over it; use its https address")


def _tls_context(cfg: dict, ca_cert: str | None, validate_certs: bool | None) -> ssl.SSLContext:
    """How to verify the API server, as kubectl does: with a cluster CA, that CA only (not the
    system's roots as well); without one, the system's roots; a CA together with skipping
    verification is a contradiction, refused. ``ca_cert``/``validate_certs`` override the kubeconfig."""
    cluster = cfg["cluster"]
    ca_file, ca_data = cluster.get("certificate-authority"), cluster.get("certificate-authority-data")
    if ca_cert:
        if validate_certs is False:
            raise KubeError("ca_cert and validate_certs: false contradict each other: give a CA to verify the "
                            "API server with, or skip verification, not both")
        ca_file, ca_data, verify = ca_cert, None, True
    elif validate_certs is not None:
        verify = validate_certs  # skipping verification drops the kubeconfig's CA, as kubectl's flag does
    else:
        verify = not cluster.get("insecure-skip-tls-verify", False)
        if not verify and (ca_file or ca_data):
            raise KubeError(f"cluster '{cfg['cluster_name']}' of the kubeconfig sets both insecure-skip-tls-verify "
                            "and a certificate authority: remove one (kubectl refuses this too)")
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    where = "ca_cert" if ca_cert else f"cluster '{cfg['cluster_name']}'"
    try:
        if ca_data:
            try:
                pem = _b64decode(ca_data).decode("ascii")
            except ValueError:
                raise KubeError(f"certificate-authority-data of {where} is not base64 of a PEM certificate") from None
            return ssl.create_default_context(cadata=pem)
        if ca_file:
            return ssl.create_default_context(cafile=_file(cfg["cluster_dir"], ca_file))
    except FileNotFoundError:
        raise KubeError(f"the certificate authority file {ca_file} of {where} does not exist") from None
    except ssl.SSLError as exc:
        raise KubeError(f"the certificate authority of {where} is not a PEM certificate ({exc.reason})") from None
    return ssl.create_default_context()


EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXEC_TIMEOUT = 60  # seconds a plugin may take (it may call a cloud API)
# Credentials from exec plugins, per process, keyed by the exec config: (status, expiry or None).
# Without an expirationTimestamp a credential is kept for the process's life, as client-go does.
_exec_credentials: dict[str, tuple[dict, float | None]] = {}
_exec_lock = threading.Lock()


def _exec_credential(spec: dict, base: str, shared_dir: str | None = None) -> dict:
    """The status of an exec credential plugin's ExecCredential (client.authentication.k8s.io),
    cached until its expirationTimestamp: in this process, and with ``shared_dir`` (a private
    directory that lives as long as the run, such as Ansible's local temporary directory) for the
    other processes of the run too, so that a play runs the plugin once, not once a task."""
    if not isinstance(spec, dict):
        raise KubeError("the kubeconfig user's exec must be a mapping (command, args, env, apiVersion)")
    key = json.dumps([spec, base], sort_keys=True, default=str)
    with _exec_lock:
        cached = _exec_credentials.get(key)
        if not _fresh(cached):
            with _SharedCredential(shared_dir, key) as shared:
                cached = shared.read()
                if not _fresh(cached):
                    cached = _run_exec_plugin(spec, base)
                    shared.write(cached)
            _exec_credentials[key] = cached
        return cached[0]


def _fresh(cached: tuple[dict, float | None] | None) -> bool:
    return cached is not None and (cached[1] is None or cached[1] > time.time() + 10)  # not about to expire


class _SharedCredential:
    """An exec credential shared by the processes of a run: a 0600 file in a directory only this
    user can enter, locked while one process runs the plugin (the others wait, then read it).
    Only tokens with an expiry are written: a client key never reaches a disk (item 12 of the
    hardening issue), and a token without expiry is not kept past this process."""

    def __init__(self, directory: str | None, key: str):
        self.fd = None
        if not directory or not _private_directory(directory):
            return
        path = os.path.join(directory, f"agentic-exec-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json")
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            self.fd = None

    def __enter__(self) -> _SharedCredential:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock

    def read(self) -> tuple[dict, float | None] | None:
        if self.fd is None:
            return None
        try:
            data = json.loads(os.pread(self.fd, 1 << 16, 0) or b"null")
            return ({"token": str(data["token"])}, float(data["expiry"])) if data else None
        except (ValueError, KeyError, TypeError, OSError):
            return None

    def write(self, cached: tuple[dict, float | None]) -> None:
        status, expiry = cached
        if self.fd is None or expiry is None or set(status) != {"token"}:
            return
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps({"token": status["token"], "expiry": expiry}).encode(), 0)


def _private_directory(path: str) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def _run_exec_plugin(spec: dict, base: str) -> tuple[dict, float | None]:
    """Run the plugin and validate what it prints. Errors name the command (not its arguments,
    its environment or its stderr: they may hold secrets), its exit code and its installHint."""
    command = spec.get("command")
    if not command or not isinstance(command, str):
        raise KubeError("the kubeconfig user's exec plugin has no command")
    name = os.path.basename(command)
    hint = spec.get("installHint")
    hint = f"; {hint.strip()}" if isinstance(hint, str) and hint.strip() else ""
    api_version = spec.get("apiVersion") or EXEC_API_VERSIONS[0]
    if api_version not in EXEC_API_VERSIONS:
        raise KubeError(f"exec credential plugin '{name}': apiVersion {api_version} is not supported "
                        f"(one of {', '.join(EXEC_API_VERSIONS)})")
    if spec.get("interactiveMode") == "Always":
        raise KubeError(f"exec credential plugin '{name}' needs an interactive terminal (interactiveMode: Always), "
                        "which a task does not have")
    args, env_items = spec.get("args") or [], spec.get("env") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise KubeError(f"exec credential plugin '{name}': args must be a list of strings")
    env = dict(os.environ)
    for item in env_items if isinstance(env_items, list) else [None]:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)):
            raise KubeError(f"exec credential plugin '{name}': env must be a list of {{name, value}} strings")
        env[item["name"]] = item["value"]
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api_version, "kind": "ExecCredential",
                                              "spec": {"interactive": False}})
    if "/" in command and not os.path.isabs(command):
        command = _file(base, command)
    try:
        out = subprocess.run([command, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=EXEC_TIMEOUT, check=False)
    except FileNotFoundError:
        raise KubeError(f"exec credential plugin '{name}' was not found{hint}") from None
    except subprocess.TimeoutExpired:
        raise KubeError(f"exec credential plugin '{name}' did not answer within {EXEC_TIMEOUT}s{hint}") from None
    except OSError as exc:
        raise KubeError(f"exec credential plugin '{name}' could not be run ({exc.strerror}){hint}") from None
    if out.returncode != 0:
        raise KubeError(f"exec credential plugin '{name}' exited with code {out.returncode}{hint}")
    return _exec_status(out.stdout, name, api_version)


def _exec_status(stdout: bytes, name: str, api_version: str) -> tuple[dict, float | None]:
    def bad(what: str) -> KubeError:
        return KubeError(f"exec credential plugin '{name}' printed {what}")

    try:
        cred = json.loads(stdout)
    except ValueError:
        raise bad("no JSON ExecCredential") from None
    if not isinstance(cred, dict) or cred.get("kind") != "ExecCredential":
        raise bad("JSON that is not an ExecCredential (kind)")
    if cred.get("apiVersion") != api_version:
        raise bad(f"an ExecCredential of apiVersion {cred.get('apiVersion')}, not the {api_version} it was asked for")
    status = cred.get("status")
    if not isinstance(status, dict):
        raise bad("an ExecCredential without status")
    fields = ("token", "clientCertificateData", "clientKeyData", "expirationTimestamp")
    if any(k in status and not isinstance(status[k], str) for k in fields):
        raise bad("an ExecCredential whose status fields are not strings")
    has_cert, has_key = bool(status.get("clientCertificateData")), bool(status.get("clientKeyData"))
    if has_cert != has_key:
        raise bad("an ExecCredential with only one of status.clientCertificateData and status.clientKeyData")
    if not status.get("token") and not has_cert:
        raise bad("an ExecCredential with neither status.token nor status.clientCertificateData/clientKeyData")
    expiry = None
    if status.get("expirationTimestamp"):
        try:
            expiry = datetime.fromisoformat(status["expirationTimestamp"]).timestamp()
        except ValueError:
            raise bad(f"an ExecCredential whose status.expirationTimestamp is not RFC 3339 "
                      f"({status['expirationTimestamp'][:40]!r})") from None
    return {k: status[k] for k in fields[:3] if status.get(k)}, expiry


class KubeClient:
    """JSON calls to one API server over one keep-alive HTTPS connection (thread-safe)."""

    def __init__(self, server: str, ssl_context: ssl.SSLContext | None, headers: dict, timeout: float = 30,
                 server_hostname: str | None = None, cached_reads: bool = True, parallel: bool = True,
                 retry_for: float = 30.0):
        parts = urlsplit(server)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise KubeError(f"the API server address '{server}' is not an http(s) URL")
        _refuse_credentials_over_http(server, "Authorization" in headers)
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.headers = headers
        self.timeout = timeout
        self.requests = 0
        # A call that meets a transient failure is retried for at most ``retry_for`` seconds and
        # never past ``deadline`` (time.monotonic(); the task's own timeout, when it has one).
        self.retry_for = retry_for
        self.deadline: float | None = None
        self.clock, self.sleep = time.monotonic, time.sleep
        # Lists read the API server's watch cache (resourceVersion=0: no quorum read of etcd, at
        # most a moment behind it, which polling does not mind) and several go at once.
        self.cached_reads = cached_reads
        self.parallel = parallel
        self._local = threading.local()
        self._lock = threading.Lock()
        self._resources: dict[str, dict] = {}
        self._remembered: set[str] = set()  # api versions whose discovery came from another client

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def from_config(cls, kubeconfig: str | None = None, context: str | None = None, host: str | None = None,
                    api_key: str | None = None, validate_certs: bool | None = None,
                    ca_cert: str | None = None, exec_cache_dir: str | None = None) -> KubeClient:
        """From a kubeconfig (or, with none, the in-cluster service account); explicit
        ``host``/``api_key``/``ca_cert``/``validate_certs`` override it. ``exec_cache_dir``: where
        the processes of one run share an exec plugin's token (see ``_exec_credential``)."""
        no_file = not kubeconfig and not os.environ.get("KUBECONFIG") \
            and not os.path.exists(os.path.expanduser("~/.kube/config"))
        if (host and api_key and no_file) or (no_file and os.environ.get("KUBERNETES_SERVICE_HOST")):
            return cls._in_cluster(host, api_key, validate_certs, ca_cert)
        cfg = load_kubeconfig(kubeconfig, context)
        cluster, user = cfg["cluster"], cfg["user"]
        server = host or cfg["server"]
        if cluster.get("proxy-url"):
            raise KubeError("kubeconfig clusters with proxy-url are not supported; reach the API server directly")
        if "auth-provider" in user:
            raise KubeError("kubeconfig auth-provider plugins were removed from Kubernetes; use an exec plugin")
        _refuse_credentials_over_http(server, api_key or any(user.get(k) for k in (
            "token", "tokenFile", "username", "password", "exec")))
        ctx = _tls_context(cfg, ca_cert, validate_certs) if server.startswith("https") else None
        headers: dict[str, str] = {}
        creds = dict(user)
        if user.get("exec"):
            status = _exec_credential(user["exec"], cfg["user_dir"], exec_cache_dir)
            creds.update({"token": status.get("token"),
                          "client-certificate-data": status.get("clientCertificateData"),
                          "client-key-data": status.get("clientKeyData")})
            creds = {k: v for k, v in creds.items() if v}
            for key in ("client-certificate-data", "client-key-data"):  # exec data is PEM, not base64
                if key in creds and key not in user:
                    creds[key] = base64.b64encode(creds[key].encode()).decode()
        if ctx is not None:
            _load_client_cert(ctx, creds, cfg["user_dir"])
        token = api_key or creds.get("token")
        if not token and creds.get("tokenFile"):
            with open(_file(cfg["user_dir"], creds["tokenFile"]), encoding="utf-8") as fh:
                token = fh.read().strip()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif creds.get("username"):
            basic = base64.b64encode(f"{creds['username']}:{creds.get('password', '')}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        return cls(server, ctx, headers, server_hostname=cluster.get("tls-server-name"))

    @classmethod
    def _in_cluster(cls, host, api_key, validate_certs, ca_cert) -> KubeClient:
        if not host:
            host = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ.get('KUBERNETES_SERVICE_PORT', '443')}"
        _refuse_credentials_over_http(host, True)
        if not api_key:
            with open(os.path.join(IN_CLUSTER_DIR, "token"), encoding="utf-8") as fh:
                api_key = fh.read().strip()
        ca_file = os.path.join(IN_CLUSTER_DIR, "ca.crt")
        cluster = {"certificate-authority": ca_file} if os.path.exists(ca_file) else {}
        ctx = _tls_context({"cluster": cluster, "cluster_name": "in-cluster", "cluster_dir": IN_CLUSTER_DIR},
                           ca_cert, validate_certs)
        return cls(host, ctx, {"Authorization": f"Bearer {api_key}"})

    # ---- HTTP --------------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.scheme == "https":
                conn = _HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.ssl_context,
                                        server_name=self.server_hostname)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def call(self, method: str, path: str, query: dict | None = None, body=None,
             content_type: str = "application/json") -> dict:
        """One API call. Reads and idempotent writes are retried on 429/503 (after the
        server's Retry-After) and on a broken connection, within ``retry_for`` and ``deadline``."""
        url = self.prefix + path + (("?" + urlencode(query, doseq=True)) if query else "")
        payload = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = content_type
        repeatable = method in _REPEATABLE_METHODS or (method == "PATCH" and content_type == APPLY_PATCH)
        if not repeatable:
            self.close()  # a fresh connection: one the server closed while idle cannot fail it
        attempt, limit = 0, None
        while True:
            attempt += 1
            with self._lock:
                self.requests += 1
            conn = self._connection()
            try:
                conn.request(method, url, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except _CONNECTION_ERRORS as exc:
                self.close()
                error: Exception = KubeError(
                    f"cannot reach the API server {self.scheme}://{self.host}:{self.port}: "
                    f"{str(exc) or type(exc).__name__}"
                    + ("" if repeatable else f" (a {method} is not sent twice: check whether it took effect)"))
                if not repeatable or attempt >= CONNECTION_ATTEMPTS:
                    raise error from None
                wait = _backoff(attempt)
            except OSError as exc:  # a timeout, a certificate refused, no route: retrying cannot help
                self.close()
                raise KubeError(f"cannot reach the API server {self.scheme}://{self.host}:{self.port}: {exc}") from None
            else:
                if resp.status < 400:
                    return json.loads(data) if data else {}
                error = ApiError(resp.status, resp.reason, data.decode("utf-8", "replace"))
                retry_after = _retry_after(resp.getheader("Retry-After"))
                # A 503 without Retry-After: an aggregated API that is down, no sign it comes back soon.
                if not repeatable or resp.status not in _RETRY_STATUSES or (resp.status == 503 and retry_after is None):
                    raise error from None
                wait = _backoff(attempt) if retry_after is None else retry_after
            now = self.clock()
            if limit is None:
                limit = now + self.retry_for if self.deadline is None else min(now + self.retry_for, self.deadline)
            if now + wait > limit:
                raise error from None
            self.sleep(wait)

    def list(self, path: str, label_selector: str = "") -> list[dict]:
        """The items of a list (from the watch cache when ``cached_reads``)."""
        query = {"labelSelector": label_selector} if label_selector else {}
        if self.cached_reads:
            query.update(resourceVersion="0", resourceVersionMatch="NotOlderThan")
        return self.call("GET", path, query).get("items", [])

    def lists(self, *requests: tuple[str, str]) -> list[list[dict]]:
        """Several lists, sent concurrently when ``parallel`` (the API server encodes them in parallel)."""
        if not self.parallel or len(requests) < 2:
            return [self.list(path, selector) for path, selector in requests]
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            return list(pool.map(lambda r: self.list(*r), requests))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ---- discovery ---------------------------------------------------------------------------
    def known_resources(self) -> dict:
        """What discovery found so far (api version -> kind -> resource), for ``remember_resources``."""
        return dict(self._resources)

    def remember_resources(self, known: dict) -> None:
        """Discovery of the same API server by an earlier client of the run (kubectl keeps a
        discovery cache likewise): an api version found there is not asked again, unless a kind
        is missing from it (a CRD installed since)."""
        for api_version, kinds in known.items():
            if api_version not in self._resources:
                self._resources[api_version] = kinds
                self._remembered.add(api_version)

    def resource(self, api_version: str, kind: str) -> dict:
        """{'name', 'namespaced', 'base'} of a kind, from the API server's discovery."""
        if api_version in self._remembered and kind not in self._resources.get(api_version, {}):
            self._remembered.discard(api_version)
            self._resources.pop(api_version, None)
        if api_version not in self._resources:
            base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            try:
                found = self.call("GET", base).get("resources", [])
            except ApiError as exc:
                if exc.status == 404:
                    raise KubeError(f"the API server does not serve {api_version} (is its CRD installed?)") from None
                raise
            self._resources[api_version] = {r["kind"]: {"name": r["name"], "namespaced": r["namespaced"], "base": base}
                                            for r in found if "/" not in r["name"]}
        try:
            return self._resources[api_version][kind]
        except KeyError:
            raise KubeError(f"the API server serves no kind {kind} in {api_version}") from None

    def path(self, api_version: str, kind: str, namespace: str | None = None, name: str | None = None) -> str:
        res = self.resource(api_version, kind)
        path = res["base"]
        if res["namespaced"] and namespace:
            path += f"/namespaces/{quote(namespace, safe='')}"
        path += f"/{res['name']}"
        return path + (f"/{quote(name, safe='')}" if name else "")

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.call("GET", self.path(api_version, kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise


def _backoff(attempt: int) -> float:
    return min(0.2 * 2 ** (attempt - 1), 2.0)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped; None
    when absent or unreadable (the caller backs off on its own)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    return min(max(seconds, 0.1), RETRY_AFTER_MAX)  # 0 or a past date: soon, not in a tight loop


class _HTTPSConnection(http.client.HTTPSConnection):
    """Verifies the server certificate for tls-server-name when the kubeconfig sets one."""

    def __init__(self, *args, server_name: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._server_name = server_name

    def connect(self):
        if not self._server_name:
            return super().connect()
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)
        return None


def _load_client_cert(ctx: ssl.SSLContext, creds: dict, base: str) -> None:
    cert_file, key_file = creds.get("client-certificate"), creds.get("client-key")
    cert_data, key_data = creds.get("client-certificate-data"), creds.get("client-key-data")
    try:
        if cert_file and key_file:
            ctx.load_cert_chain(_file(base, cert_file), _file(base, key_file))
        elif cert_data and key_data:
            try:
                pem = _b64decode(cert_data) + b"\n" + _b64decode(key_data)
            except ValueError:
                raise KubeError("the kubeconfig user's client-certificate-data or client-key-data is not base64") \
                    from None
            with _in_memory_file(pem) as path:
                ctx.load_cert_chain(path)
    except FileNotFoundError as exc:
        raise KubeError(f"the kubeconfig user's client certificate or key file {exc.filename} does not exist") from None
    except ssl.SSLError as exc:  # the reason only: never the key
        raise KubeError(f"the kubeconfig user's client certificate and key cannot be loaded ({exc.reason})") from None


def _b64decode(value) -> bytes:
    """Base64 as kubeconfigs hold it (line breaks allowed); ValueError when it is not."""
    return base64.b64decode("".join(str(value).split()), validate=True)


@contextlib.contextmanager
def _in_memory_file(data: bytes):
    """A path that reads ``data``, for ssl, which loads a key pair from files only. On Linux an
    anonymous memory file (memfd): the key never reaches a disk and is gone with the process
    however it ends. Elsewhere a 0600 temporary file, removed as soon as it has been read."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kube-client-cert", os.MFD_CLOEXEC)
        try:
            _write_all(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        yield path
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
