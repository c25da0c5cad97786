"""Build the local control plane from Go modules, once per version, into a cache outside the repo.

Nothing is downloaded as a prebuilt binary: every component is compiled with this machine's Go
from the wrapper modules under gomod/, and the CRD schemas and kwok stages are read from the
upstream projects' own Go modules.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from localcluster import versions

GOMOD = Path(__file__).resolve().parent / "gomod"


def cache_dir() -> Path:
    return Path(os.environ.get("AGENTIC_CACHE", Path.home() / ".cache" / "agentic-platform"))


def log(msg: str) -> None:
    print(f"[localcluster build] {msg}", flush=True)


def required_version(component: str, module: str) -> str:
    """The version a wrapper module pins, read from its go.mod (the single source)."""
    text = (gomod_dir(component) / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.MULTILINE)
    if not match:
        raise RuntimeError(f"gomod/{component}/go.mod does not require {module}")
    return match.group(1)


ALL_COMPONENTS = {**versions.COMPONENTS, **versions.NODE_COMPONENTS, **versions.TOOL_COMPONENTS}


def gomod_dir(component: str) -> Path:
    return GOMOD / versions.GOMOD_DIRS.get(component, component)


def binary_dir(component: str) -> Path:
    _packages, module = ALL_COMPONENTS[component]
    name = f"{component}-{required_version(component, module)}"
    if component in versions.TOOL_COMPONENTS:
        # A tool's main.go is this repository's code: a change to it must rebuild, not reuse.
        name += "-" + _source_key(gomod_dir(component))
    return cache_dir() / "bin" / name


def _source_key(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.suffix == ".go" or p.name in ("go.mod", "go.sum")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def binary(name: str) -> Path:
    """Path of one built binary, e.g. binary('kube-apiserver')."""
    for component, (packages, _module) in ALL_COMPONENTS.items():
        names = [_binary_name(p) for p in packages]
        if name in names:
            return binary_dir(component) / name
    raise KeyError(name)


def _binary_name(package: str) -> str:
    return versions.BINARY_NAMES.get(package, package.rstrip("/").split("/")[-1])


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env.setdefault("CGO_ENABLED", "0")
    return env


def build_component(component: str) -> Path:
    out = binary_dir(component)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Several test sessions may build at once: one compiles, the others wait and reuse it.
    with open(out.with_name(out.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_component_locked(component, out)


def _build_component_locked(component: str, out: Path) -> Path:
    packages, module = ALL_COMPONENTS[component]
    version = required_version(component, module)
    wanted = [out / _binary_name(p) for p in packages]
    if all(p.exists() for p in wanted):
        log(f"{component} {version}: cached in {out}")
        return out
    ldflags = "-s -w"
    if module == "k8s.io/kubernetes":
        # kube components report this as --version; clients and kwok parse it.
        ldflags += f" -X k8s.io/component-base/version.gitVersion={version}"
        ldflags += " -X k8s.io/client-go/pkg/version.gitVersion=" + version
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log(f"{component} {version}: compiling {len(packages)} command(s) (first build takes minutes)...")
    started = time.monotonic()
    # One command: name the output (etcd's package path ends in /v3); several: into the directory.
    target = str(tmp / _binary_name(packages[0])) if len(packages) == 1 else str(tmp) + "/"
    cmd = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", target, *packages]
    proc = subprocess.Popen(cmd, cwd=gomod_dir(component), env=_go_env())
    while proc.poll() is None:
        time.sleep(15)
        if proc.poll() is None:
            log(f"{component}: still compiling, {time.monotonic() - started:.0f}s")
    if proc.returncode != 0:
        raise SystemExit(f"go build of {component} failed (exit {proc.returncode})")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log(f"{component} {version}: built in {time.monotonic() - started:.0f}s -> {out}")
    return out


def module_dir(module_at_version: str) -> Path:
    """Download a Go module (verified against the checksum database) and return its directory."""
    res = subprocess.run(
        ["go", "mod", "download", "-json", module_at_version],
        capture_output=True, text=True, cwd=GOMOD / "kubernetes", env=_go_env(), check=False,
    )
    info = json.loads(res.stdout or "{}")
    if res.returncode != 0 or "Dir" not in info:
        raise SystemExit(f"go mod download {module_at_version} failed: {info.get('Error') or res.stderr}")
    return Path(info["Dir"])


def crd_files() -> list[Path]:
    """Copy the upstream CRD schemas into the cache and return their paths."""
    dest = cache_dir() / "crds"
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for module, files in versions.CRD_SOURCES.items():
        src = None
        for rel in files:
            name = module.replace("/", "_").replace("@", "-") + "--" + Path(rel).name
            target = dest / name
            if not target.exists():
                src = src or module_dir(module)
                shutil.copyfile(src / rel, target)
            paths.append(target)
    return paths


def kwok_stages() -> Path:
    """kwok's own node/pod stage definitions, concatenated into one config file."""
    _packages, module = versions.COMPONENTS["kwok"]
    version = required_version("kwok", module)
    target = cache_dir() / f"kwok-stages-{version}.yaml"
    if not target.exists():
        src = module_dir(f"{module}@{version}")
        docs = [(src / rel).read_text().strip() for rel in versions.KWOK_STAGES]
        target.write_text("\n---\n".join(d.removeprefix("---").strip() for d in docs) + "\n")
    return target


def build_all(*, node: bool = False) -> dict:
    """The control plane's binaries, CRDs and kwok stages; with node=True the real node's too."""
    if shutil.which("go") is None:
        raise SystemExit("Go is required to build the local cluster (go not found on PATH)")
    started = time.monotonic()
    for component in [*versions.COMPONENTS, *(versions.NODE_COMPONENTS if node else ())]:
        build_component(component)
    crds = crd_files()
    stages = kwok_stages()
    log(f"ready in {time.monotonic() - started:.0f}s: {len(crds)} CRD files, stages {stages.name}")
    return {"crds": [str(p) for p in crds], "stages": str(stages)}


if __name__ == "__main__":
    build_all()
    sys.exit(0)
