"""Container images for the real node, built on this machine without a registry or a daemon.

A Debian base root filesystem comes from Debian's packages (mmdebstrap with this machine's
apt sources); the other layers are files of this repository or binaries built here. Each image
is written as an OCI archive (uncompressed tar layers, sha256 digests, config, manifest, index)
and cached by the digest of its inputs, like the binaries.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from localcluster import build, versions

ROOT = Path(__file__).resolve().parents[1]
BASE_PACKAGES = ["python3", "redis-server"]
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
AGENT_SOURCE = ROOT / "agent-runtime" / "src" / "agentic_runtime"
# The agent image's packages, as agent-runtime/Containerfile installs them (the runtime and its
# otlp extra, so that the ConfigMap's jaeger.enabled turns tracing on): the versions
# requirements.txt pins, with their dependencies.
AGENT_PACKAGES = ["prometheus-client==0.26.0", "opentelemetry-sdk==1.45.2",
                  "opentelemetry-exporter-otlp-proto-http==1.45.2"]
PYTHON_SITE = "usr/local/lib/python3.11/dist-packages"


def images_dir() -> Path:
    d = build.cache_dir() / "images"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def base_rootfs() -> Path:
    """Debian bookworm (minbase) with python3 and redis-server, as one tar layer."""
    key = _sha256(json.dumps([BASE_PACKAGES, APT_SOURCES.read_text()]).encode())[:16]
    target = images_dir() / f"debian-base-{key}.tar"
    if target.exists():
        return target
    if shutil.which("mmdebstrap") is None:
        raise SystemExit("mmdebstrap is required to build the real node's base image (scripts/setup.sh installs it)")
    build.log(f"debian base rootfs ({', '.join(BASE_PACKAGES)}): running mmdebstrap...")
    started = time.monotonic()
    partial = target.with_suffix(".partial")
    with open(APT_SOURCES) as sources:
        res = subprocess.run(
            ["mmdebstrap", "--mode=root", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
             "--format=tar", "bookworm", str(partial), "-"],
            stdin=sources, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"mmdebstrap failed (exit {res.returncode}): {res.stderr[-2000:]}")
    partial.rename(target)
    build.log(f"debian base rootfs: built in {time.monotonic() - started:.0f}s -> {target}")
    return target


def _layer(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar layer of regular files (path -> (content, mode)), owned by root, parents included."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({str(Path(p).parents[i]) for p in files for i in range(len(Path(p).parents) - 1)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _tree(src: Path, dest: str) -> dict[str, tuple[bytes, int]]:
    return {f"{dest}/{p.relative_to(src)}": (p.read_bytes(), 0o644) for p in sorted(src.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def write_oci_archive(ref: str, layers: list[Path | bytes], config: dict) -> Path:
    """Write (or reuse) an OCI image archive named by ref; returns its path."""
    layer_blobs = []
    for layer in layers:
        if isinstance(layer, bytes):
            digest = _sha256(layer)
            path = images_dir() / "blobs" / digest
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(layer)
        else:
            path, digest = layer, _file_sha256(layer)
        layer_blobs.append((digest, path))
    image_config = {
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d, _ in layer_blobs]},
    }
    config_bytes = json.dumps(image_config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{_sha256(config_bytes)}", "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": f"sha256:{d}",
                    "size": p.stat().st_size} for d, p in layer_blobs],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest = _sha256(manifest_bytes)
    name = ref.rsplit("/", 1)[-1].replace(":", "-")
    target = images_dir() / f"{name}-{manifest_digest[:16]}.oci.tar"
    if target.exists():
        return target
    index = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": manifest["mediaType"], "digest": f"sha256:{manifest_digest}",
                       "size": len(manifest_bytes),
                       "annotations": {"io.containerd.image.name": ref,
                                       "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1]}}],
    }
    partial = target.with_suffix(".partial")
    with tarfile.open(partial, "w") as tar:
        def add_bytes(path: str, data: bytes) -> None:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_bytes("index.json", json.dumps(index).encode())
        add_bytes(f"blobs/sha256/{_sha256(config_bytes)}", config_bytes)
        add_bytes(f"blobs/sha256/{manifest_digest}", manifest_bytes)
        for digest, path in layer_blobs:
            tar.add(path, arcname=f"blobs/sha256/{digest}")
    partial.rename(target)
    return target


def pause_binary() -> Path:
    """The sandbox program (gomod/pause), cached by the digest of its source."""
    src = build.GOMOD / "pause"
    key = _sha256(b"".join((src / f).read_bytes() for f in ("go.mod", "main.go")))[:16]
    target = build.cache_dir() / "bin" / f"pause-{key}" / "pause"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(target), "."],
                       cwd=src, env=build._go_env(), check=True)
    return target


def _agent_layer() -> bytes:
    """agentic_runtime and AGENT_PACKAGES (wheels for bookworm's Python 3.11), installed where
    Debian's python3 finds them."""
    wheels = images_dir() / "wheels-agent"
    marker = wheels / ("ok-" + _sha256(json.dumps(AGENT_PACKAGES).encode())[:16])
    if not marker.exists():
        shutil.rmtree(wheels, ignore_errors=True)
        # The virtual environment's Python is the image's (3.11) on the same Debian release.
        subprocess.run([str(ROOT / ".venv" / "bin" / "pip"), "download", "-q", "--only-binary=:all:",
                        "-d", str(wheels), *AGENT_PACKAGES], check=True)
        marker.touch()
    import zipfile
    files = _tree(AGENT_SOURCE, f"{PYTHON_SITE}/agentic_runtime")
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as z:
            for entry in z.namelist():
                if not entry.endswith("/"):
                    files[f"{PYTHON_SITE}/{entry}"] = (z.read(entry), 0o644)
    return _layer(files)


def build_images() -> dict[str, Path]:
    """Every image the real node runs: ref -> OCI archive."""
    base = base_rootfs()
    coredns = build.binary("coredns")
    refs = {
        PAUSE_IMAGE: ([_layer({"pause": (pause_binary().read_bytes(), 0o755)})],
                      {"Entrypoint": ["/pause"], "User": "65535:65535"}),
        COREDNS_IMAGE: ([_layer({"coredns": (coredns.read_bytes(), 0o755)})],
                        {"Entrypoint": ["/coredns"]}),
        AGENT_IMAGE: ([base, _agent_layer()],
                      {"Entrypoint": ["python3", "-m", "agentic_runtime"], "User": "10001:10001",
                       "Env": ["PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "AGENT_API_PORT=8080",
                               "AGENT_METRICS_PORT=9090"],
                       "ExposedPorts": {"8080/tcp": {}, "9090/tcp": {}}}),
        REDIS_IMAGE: ([base], {"Cmd": ["redis-server"], "ExposedPorts": {"6379/tcp": {}}}),
    }
    return {ref: write_oci_archive(ref, layers, config) for ref, (layers, config) in refs.items()}


# What the secret rotation Job runs (docs/examples/rotation-cronjob.yaml): ansible-core and the
# Python packages the rotation module needs (redis for the ACL, cryptography for JWT keys; the API
# server is spoken to with the standard library), the versions requirements.txt pins.
ROTATION_PACKAGES = ["ansible-core==2.19.14", "cryptography==50.0.2", "redis==8.1.0",
                     "async-timeout==5.0.1"]  # redis needs it below Python 3.11.3 (bookworm has 3.11.2)
# This checkout, as the example's image holds it: the playbooks and inventories under its working
# directory, the collection where its ansible.cfg looks (collections_path ./.collections).
ROTATION_TREE = ("ansible.cfg", "galaxy.yml", "meta", "playbooks", "plugins", "roles", "inventories")
ROTATION_HOME = "opt/agentic-platform"
ANSIBLE_PLAYBOOK = b"""#!/usr/bin/python3
import sys
from ansible.cli.playbook import main
sys.exit(main())
"""


def _rotation_layer() -> bytes:
    """ansible-core and its dependencies (wheels for bookworm's Python 3.11), an ansible-playbook
    command, and the collection."""
    wheels = images_dir() / "wheels-rotation"
    marker = wheels / ("ok-" + _sha256(json.dumps(ROTATION_PACKAGES).encode())[:16])
    if not marker.exists():
        # The virtual environment's Python is the image's (3.11) on the same Debian release.
        subprocess.run([str(ROOT / ".venv" / "bin" / "pip"), "download", "-q", "--only-binary=:all:",
                        "-d", str(wheels), *ROTATION_PACKAGES], check=True)
        marker.touch()
    import zipfile
    files = {"usr/local/bin/ansible-playbook": (ANSIBLE_PLAYBOOK, 0o755)}
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as z:
            for entry in z.namelist():
                if not entry.endswith("/"):
                    files[f"{PYTHON_SITE}/{entry}"] = (z.read(entry), 0o644)
    collection = f"{ROTATION_HOME}/.collections/ansible_collections/agentic/platform"
    for name in ROTATION_TREE:
        for dest in (ROTATION_HOME, collection):
            source = ROOT / name
            files.update(_tree(source, f"{dest}/{name}") if source.is_dir()
                         else {f"{dest}/{name}": (source.read_bytes(), 0o644)})
    return _layer(files)


def rotation_image() -> dict[str, Path]:
    """The rotation Job's image (built on demand, not at node start): ref -> OCI archive."""
    config = {"User": "10001:10001", "WorkingDir": "/" + ROTATION_HOME,
              "Env": ["LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1", "PATH=/usr/local/bin:/usr/bin:/bin"]}
    return {ROTATION_IMAGE: write_oci_archive(ROTATION_IMAGE, [base_rootfs(), _rotation_layer()], config)}


# Names the images carry in containerd (and in pod specs that run on the real node).
PAUSE_IMAGE = "localhost/agentic/pause:1"
COREDNS_IMAGE = "localhost/agentic/coredns:" + build.required_version("coredns", versions.NODE_COMPONENTS["coredns"][1])
AGENT_IMAGE = "localhost/agentic/mcp-agent:0.1.0"
REDIS_IMAGE = "localhost/agentic/redis:7.0"
ROTATION_IMAGE = "localhost/agentic/platform-ansible:0.1.0"
