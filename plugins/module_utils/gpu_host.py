"""Host-side GPU readiness: is this NVIDIA GPU host really ready for work?

Evidence comes from a *host reader*: :class:`SystemReader` reads the live host (NVML through
``pynvml`` when it is importable and a driver answers, ``nvidia-smi`` otherwise, sysfs/procfs,
the kernel log, systemd); :class:`ReplayReader` answers the same questions from a directory of
captured output (the real files under ``shared/fixtures/gpu/``), so the checks are tested on
what a real host printed.

Parsing copes with what real drivers do: fields renamed between releases
(``clocks_throttle_reasons.*`` became ``clocks_event_reasons.*``), values with or without
units, and ``[N/A]`` / ``[Not Supported]``, which mean "no evidence", never "failure".
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ansible_collections.agentic.platform.plugins.module_utils.gpu_verdict import (
    FAIL,
    NO_EVIDENCE,
    PASS,
    check,
    summarize,
)

# The fields asked of `nvidia-smi --query-gpu`, in this order. The old name
# clocks_throttle_reasons.active is accepted by old and new drivers alike (new ones answer
# with the new name); a driver that refuses a name gets the other spelling on a retry.
QUERY_FIELDS = (
    "index", "uuid", "name", "pci.bus_id", "driver_version", "vbios_version", "persistence_mode",
    "pstate", "mig.mode.current", "memory.total", "memory.used", "memory.free", "utilization.gpu",
    "temperature.gpu", "power.draw", "power.limit", "ecc.mode.current",
    "ecc.errors.uncorrected.volatile.total", "ecc.errors.uncorrected.aggregate.total",
    "clocks_throttle_reasons.active", "compute_mode", "pcie.link.gen.current", "pcie.link.width.current",
    "count",
)
QUERY_FORMAT = "csv,noheader,nounits"
REMAP_FIELDS = ("gpu_uuid", "remapped_rows.correctable", "remapped_rows.uncorrectable",
                "remapped_rows.pending", "remapped_rows.failure")

# Renamed or doubly-named fields -> one canonical name.
_PREFIX_RENAMES = (("clocks_throttle_reasons.", "clocks_event_reasons."),)
_ALIASES = {
    "remapped_rows.sbe": "remapped_rows.correctable",
    "remapped_rows.dbe": "remapped_rows.uncorrectable",
    "retired_pages.sbe": "retired_pages.single_bit_ecc.count",
    "retired_pages.dbe": "retired_pages.double_bit.count",
    "gpu_name": "name",
    "gpu_bus_id": "pci.bus_id",
    "gpu_uuid": "uuid",
}
# What drivers print when a value cannot be read: no evidence.
NO_VALUE = {"", "n/a", "[n/a]", "not supported", "[not supported]", "[unknown error]",
            "[insufficient permissions]", "unknown", "none"}
_UNIT = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(?:MiB|GiB|KiB|W|%|MHz|C|us|KB/s|x|bank\(s\))$")

# Xids that mean the GPU (or its link) needs a reset, a reboot or a replacement. Application
# Xids (13, 31, 43, 45, 68, 109) and warnings (63 row-remap recorded: the row_remap check
# covers the reset it needs; 92 high single-bit rate; 94 contained ECC error: the GPU keeps
# running) are reported but do not fail the host.
FATAL_XIDS = {
    48: "double-bit ECC error",
    61: "internal micro-controller breakpoint/warning",
    62: "internal micro-controller halt",
    64: "ECC page retirement or row remapping failure",
    74: "NVLink error",
    79: "GPU has fallen off the bus",
    95: "uncontained ECC error",
    119: "GSP RPC timeout",
    120: "GSP error",
    140: "unrecovered ECC error",
}
_XID = re.compile(r"NVRM: Xid \(PCI:([0-9a-fA-F:.]+)\): (\d+)(?:, ([^\n]*))?")
_NVRM_VERSION = re.compile(r"NVRM version:.*?\s(\d+\.\d+(?:\.\d+)?)\s")
NVIDIA_VENDOR = "0x10de"
GPU_CLASSES = ("0x0300", "0x0302")   # VGA controller, 3D controller
NVSWITCH_CLASS = "0x0680"            # NVSwitch: bridge, other
FABRIC_MANAGER_SERVICE = "nvidia-fabricmanager"


@dataclass
class Probe:
    """A file read: present True/False, or None when it is not known (e.g. not captured)."""
    present: bool | None
    text: str = ""


@dataclass
class Cmd:
    """A command run: rc None when the command is not there (or was not captured)."""
    rc: int | None
    out: str = ""


class ReplayError(Exception):
    """The replay was asked for something that was never captured."""


# ---------------------------------------------------------------------------------------------
# Parsing helpers
# ---------------------------------------------------------------------------------------------

def canonical(name: str) -> str:
    """Canonical field name: no unit suffix ('memory.total [MiB]'), new spellings."""
    name = re.sub(r"\s*\[[^\]]*\]$", "", name.strip())
    for old, new in _PREFIX_RENAMES:
        if name.startswith(old):
            name = new + name[len(old):]
    return _ALIASES.get(name, name)


def other_spelling(name: str) -> str | None:
    """The other name a driver may know a field by (old <-> new), or None."""
    for old, new in _PREFIX_RENAMES:
        if name.startswith(old):
            return new + name[len(old):]
        if name.startswith(new):
            return old + name[len(new):]
    return None


def value(raw: str | None) -> str | None:
    """A field value without units; None for [N/A], [Not Supported] and the like."""
    if raw is None:
        return None
    text = raw.strip()
    if text.lower() in NO_VALUE:
        return None
    m = _UNIT.match(text)
    return m.group(1) if m else text


def as_int(raw) -> int | None:
    v = raw if isinstance(raw, int) else value(raw)
    if v is None:
        return None
    if isinstance(v, int):
        return v
    try:
        return int(v, 0) if v.lower().startswith("0x") else int(float(v))
    except ValueError:
        return None


def as_bool(raw) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        return bool(raw)
    v = value(raw)
    if v is None:
        return None
    low = v.lower()
    if low in ("enabled", "yes", "on", "true", "active", "1"):
        return True
    if low in ("disabled", "no", "off", "false", "not active", "0"):
        return False
    return None


def parse_csv(text: str, fields: tuple[str, ...] | list[str] | None = None) -> list[dict]:
    """Rows of `nvidia-smi --query-* --format=csv[,noheader][,nounits]` keyed by canonical name.

    With a header the names come from it (so a renamed field is seen under the name the driver
    answered with, then mapped); without one, from ``fields`` in the order they were asked.
    """
    rows = [r for r in csv.reader(io.StringIO(text), skipinitialspace=True) if r and any(c.strip() for c in r)]
    if not rows:
        return []
    if fields is None:
        names = [canonical(n) for n in rows[0]]
        rows = rows[1:]
    else:
        names = [canonical(n) for n in fields]
    out = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"nvidia-smi row has {len(row)} values for {len(names)} fields: {row!r}")
        out.append({n: value(v) for n, v in zip(names, row, strict=True)})
    return out


def parse_proc_version(text: str) -> str | None:
    """The kernel module version from /proc/driver/nvidia/version."""
    m = _NVRM_VERSION.search(text)
    return m.group(1) if m else None


def bus_key(bus_id: str | None) -> str | None:
    """'00000000:00:06.0', '0000:00:06.0' and 'PCI:0000:00:06' -> '0000:00:06' (domain:bus:device)."""
    if not bus_id:
        return None
    text = bus_id.strip().lower()
    text = text.removeprefix("pci:")
    parts = text.split(":")
    if len(parts) < 3:
        return None
    domain = int(parts[-3], 16)
    device = parts[-1].split(".")[0]
    return f"{domain:04x}:{parts[-2]}:{device}"


def parse_lspci(text: str) -> list[dict]:
    """`lspci -Dn` lines ('0000:00:06.0 0302: 10de:2335 (rev a1)') -> PCI device records."""
    devices = []
    for line in text.splitlines():
        m = re.match(r"^([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+([0-9a-fA-F]{4}):\s+"
                     r"([0-9a-fA-F]{4}):([0-9a-fA-F]{4})", line.strip())
        if m:
            devices.append({"address": m.group(1).lower(), "class": "0x" + m.group(2).lower(),
                            "vendor": "0x" + m.group(3).lower(), "device": "0x" + m.group(4).lower()})
    return devices


def parse_xml(text: str) -> dict:
    """`nvidia-smi -q -x`: driver version and, per GPU (by bus id), what the CSV lacks."""
    root = ET.fromstring(text)  # noqa: S314 - nvidia-smi's own output, no external entities

    def txt(node, path):
        found = node.find(path)
        return value(found.text) if found is not None and found.text is not None else None

    def uncorrectable(node, path):
        section = node.find(path)
        if section is None:
            return None
        total, seen = 0, False
        for child in section:
            tag = child.tag
            if ("uncorrectable" in tag or tag == "double_bit") and "threshold" not in tag:
                n = as_int(child.text) if len(child) == 0 else as_int(txt(child, "total"))
                if n is not None:
                    total, seen = total + n, True
        return total if seen else None

    gpus = {}
    for gpu in root.findall("gpu"):
        gpus[bus_key(gpu.get("id"))] = {
            "bus_id": gpu.get("id"),
            "name": txt(gpu, "product_name"),
            "uuid": txt(gpu, "uuid"),
            "persistence_mode": as_bool(txt(gpu, "persistence_mode")),
            "mig_current": as_bool(txt(gpu, "mig_mode/current_mig")),
            "mig_pending": as_bool(txt(gpu, "mig_mode/pending_mig")),
            "ecc_current": as_bool(txt(gpu, "ecc_mode/current_ecc")),
            "ecc_pending": as_bool(txt(gpu, "ecc_mode/pending_ecc")),
            "ecc_uncorrected_volatile": uncorrectable(gpu, "ecc_errors/volatile"),
            "ecc_uncorrected_aggregate": uncorrectable(gpu, "ecc_errors/aggregate"),
            "remap_correctable": as_int(txt(gpu, "remapped_rows/remapped_row_corr")),
            "remap_uncorrectable": as_int(txt(gpu, "remapped_rows/remapped_row_unc")),
            "remap_pending": as_bool(txt(gpu, "remapped_rows/remapped_row_pending")),
            "remap_failure": as_bool(txt(gpu, "remapped_rows/remapped_row_failure")),
            "pcie_gen_current": as_int(txt(gpu, "pci/pci_gpu_link_info/pcie_gen/current_link_gen")),
            "pcie_gen_max": as_int(txt(gpu, "pci/pci_gpu_link_info/pcie_gen/max_link_gen")),
            "pcie_width_current": as_int(txt(gpu, "pci/pci_gpu_link_info/link_widths/current_link_width")),
            "pcie_width_max": as_int(txt(gpu, "pci/pci_gpu_link_info/link_widths/max_link_width")),
            "fabric_state": txt(gpu, "fabric/state"),
            "fabric_status": txt(gpu, "fabric/status"),
        }
    return {"driver_version": txt(root, "driver_version"), "gpus": gpus}


def parse_capture(text: str) -> Cmd:
    """A capture in the fixtures' form ('$ command' first, '[rc=N]' last) or bare output (rc 0)."""
    lines = text.splitlines()
    rc = 0
    if lines and lines[0].startswith("$ "):
        lines = lines[1:]
    if lines and re.fullmatch(r"\[rc=\d+\]", lines[-1].strip()):
        rc = int(lines[-1].strip()[4:-1])
        lines = lines[:-1]
    return Cmd(rc, "\n".join(lines) + ("\n" if lines else ""))


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------

class SystemReader:
    """Reads the live host. Every method answers 'no evidence' (None) rather than raising."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout

    def read(self, path: str) -> Probe:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return Probe(True, fh.read())
        except (FileNotFoundError, NotADirectoryError):
            return Probe(False)
        except OSError:
            return Probe(None)

    def run(self, argv: list[str]) -> Cmd:
        if shutil.which(argv[0]) is None:
            return Cmd(None)
        try:
            res = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Cmd(None, str(exc))
        return Cmd(res.returncode, res.stdout + res.stderr)

    def nvml(self) -> dict | None:
        """A snapshot in the shape of the fixtures' nvml.json, or None when NVML is not there."""
        try:
            import pynvml
        except ImportError:
            return None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError_LibraryNotFound:
            return None
        except pynvml.NVMLError as exc:
            return {"init_error": str(exc), "init_error_class": type(exc).__name__}
        try:
            return _nvml_snapshot(pynvml)
        finally:
            with contextlib.suppress(pynvml.NVMLError):
                pynvml.nvmlShutdown()

    def pci_devices(self) -> list[dict] | None:
        base = "/sys/bus/pci/devices"
        try:
            names = sorted(os.listdir(base))
        except OSError:
            names = None
        if names is not None:
            devices = []
            for name in names:
                rec = {"address": name.lower()}
                for attr in ("vendor", "class", "device"):
                    probe = self.read(f"{base}/{name}/{attr}")
                    rec[attr] = probe.text.strip().lower()[:6] if probe.present else ""
                devices.append(rec)
            return devices
        cmd = self.run(["lspci", "-Dn"])
        return parse_lspci(cmd.out) if cmd.rc == 0 else None

    def kernel_log(self) -> str | None:
        for argv in (["journalctl", "-k", "-b", "-q", "--no-pager"], ["dmesg"]):
            cmd = self.run(argv)
            if cmd.rc == 0 and cmd.out.strip() and "-- No entries --" not in cmd.out:
                return cmd.out
        try:
            fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        chunks = []
        try:
            while True:
                try:
                    chunks.append(os.read(fd, 8192).decode("utf-8", "replace"))
                except BlockingIOError:
                    break
                except OSError:  # EPIPE when a record was overwritten: keep reading
                    continue
        finally:
            os.close(fd)
        return "".join(chunks)

    def service_state(self, name: str) -> str | None:
        cmd = self.run(["systemctl", "is-active", name])
        return cmd.out.strip() or None if cmd.rc is not None else None


def _nvml_snapshot(nv) -> dict:
    def get(fn, *args):
        try:
            res = fn(*args)
        except (nv.NVMLError, AttributeError, TypeError):
            return None
        return res.decode() if isinstance(res, bytes) else res

    snap = {"driver": get(nv.nvmlSystemGetDriverVersion), "nvml": get(nv.nvmlSystemGetNVMLVersion),
            "count": get(nv.nvmlDeviceGetCount), "devices": []}
    for i in range(snap["count"] or 0):
        h = nv.nvmlDeviceGetHandleByIndex(i)
        pci = get(nv.nvmlDeviceGetPciInfo, h)
        reasons = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None) or getattr(
            nv, "nvmlDeviceGetCurrentClocksThrottleReasons", None)
        snap["devices"].append({
            "index": i,
            "name": get(nv.nvmlDeviceGetName, h),
            "uuid": get(nv.nvmlDeviceGetUUID, h),
            "pci_bus_id": (pci.busId.decode() if isinstance(pci.busId, bytes) else pci.busId) if pci else None,
            "persistence_mode": get(nv.nvmlDeviceGetPersistenceMode, h),
            "ecc_mode": get(nv.nvmlDeviceGetEccMode, h),
            "ecc_uncorrected_volatile": get(nv.nvmlDeviceGetTotalEccErrors, h,
                                            nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nv.NVML_VOLATILE_ECC),
            "ecc_uncorrected_aggregate": get(nv.nvmlDeviceGetTotalEccErrors, h,
                                             nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nv.NVML_AGGREGATE_ECC),
            "mig_mode": get(nv.nvmlDeviceGetMigMode, h),
            "remapped_rows": get(nv.nvmlDeviceGetRemappedRows, h),
            "throttle_reasons": get(reasons, h) if reasons else None,
            "pcie_gen": get(nv.nvmlDeviceGetCurrPcieLinkGeneration, h),
            "pcie_width": get(nv.nvmlDeviceGetCurrPcieLinkWidth, h),
            "pcie_gen_max": get(nv.nvmlDeviceGetMaxPcieLinkGeneration, h),
            "pcie_width_max": get(nv.nvmlDeviceGetMaxPcieLinkWidth, h),
        })
    return snap


class ReplayReader:
    """Answers from captured files. Directories are searched in order, so a test can put a
    degraded copy of one real file in a directory in front of the real fixture directory.

    Files: driver-version.txt (/proc/driver/nvidia/version), sys-module-nvidia-version.txt,
    query-gpu.csv / query-gpu-noheader-nounits.csv, query-remapped-rows.csv, nvidia-smi-q.xml,
    help-query-gpu.txt (the driver's accepted field names), nvml.json, lspci.txt (`lspci -Dn`),
    dmesg.txt, systemctl-is-active-<service>.txt, nvidia-smi-error.txt (what every nvidia-smi
    call prints when the tool itself fails). Captures may carry the fixtures' '$ command' and
    '[rc=N]' lines; '[rc=N]' with N != 0 means the command failed or the file was absent.
    """

    PATHS = {"/proc/driver/nvidia/version": "driver-version.txt",
             "/sys/module/nvidia/version": "sys-module-nvidia-version.txt"}

    def __init__(self, *directories: str):
        self.directories = [str(d) for d in directories]
        self.calls: list[list[str]] = []

    def _file(self, name: str) -> str | None:
        for d in self.directories:
            path = os.path.join(d, name)
            if os.path.exists(path):
                with open(path, encoding="utf-8") as fh:
                    return fh.read()
        return None

    def read(self, path: str) -> Probe:
        name = self.PATHS.get(path)
        text = self._file(name) if name else None
        if text is None:
            return Probe(None)
        cap = parse_capture(text)
        return Probe(True, cap.out) if cap.rc == 0 else Probe(False)

    def run(self, argv: list[str]) -> Cmd:
        self.calls.append(list(argv))
        if argv[0] != "nvidia-smi":
            raise ReplayError(f"no capture for {argv!r}")
        failing = self._file("nvidia-smi-error.txt")
        if failing is not None:
            return parse_capture(failing)
        args = argv[1:]
        if args == ["-q", "-x"]:
            return self._capture("nvidia-smi-q.xml")
        opts = dict(a.split("=", 1) for a in args if "=" in a)
        if "--query-gpu" in opts:
            return self._query_gpu(opts["--query-gpu"].split(","), opts.get("--format", "csv"))
        if "--query-remapped-rows" in opts:
            captured = self._file("query-remapped-rows.csv")
            if captured is None:
                return Cmd(None)
            fields = [canonical(f) for f in opts["--query-remapped-rows"].split(",")]
            have = [canonical(n) for n in next(csv.reader(io.StringIO(captured), skipinitialspace=True))]
            if fields != have or opts.get("--format") != "csv":
                raise ReplayError(f"remapped rows captured as {have} in csv, asked {fields}")
            return parse_capture(captured)
        raise ReplayError(f"no capture for {argv!r}")

    def _capture(self, name: str) -> Cmd:
        text = self._file(name)
        return Cmd(None) if text is None else parse_capture(text)

    def _query_gpu(self, fields: list[str], fmt: str) -> Cmd:
        helptext = self._file("help-query-gpu.txt")
        if helptext is not None:
            known = set()
            for line in helptext.splitlines():
                if line.startswith('"'):
                    known.update(re.findall(r'"([^"]+)"', line))
            for f in fields:
                if f not in known:
                    return Cmd(2, f'Field "{f}" is not a valid field to query.\n\n')
        captured = self._file("query-gpu.csv")
        if captured is None:
            return Cmd(None)
        table = list(csv.reader(io.StringIO(parse_capture(captured).out), skipinitialspace=True))
        header, rows = table[0], [r for r in table[1:] if r]
        index = {canonical(h): i for i, h in enumerate(header)}
        wanted = [canonical(f) for f in fields]
        missing = [f for f in wanted if f not in index]
        if missing:
            raise ReplayError(f"fields {missing} were not captured")
        verbatim = {"csv": "query-gpu.csv", "csv,noheader,nounits": "query-gpu-noheader-nounits.csv"}.get(fmt)
        if wanted == [canonical(h) for h in header] and verbatim and self._file(verbatim) is not None:
            return self._capture(verbatim)  # the very bytes the driver printed
        lines = [] if "noheader" in fmt else [", ".join(header[index[f]] for f in wanted)]
        for row in rows:
            vals = [row[index[f]] for f in wanted]
            if "nounits" in fmt:
                vals = [value(v) if value(v) is not None else v for v in vals]
            lines.append(", ".join(vals))
        return Cmd(0, "\n".join(lines) + "\n")

    def nvml(self) -> dict | None:
        text = self._file("nvml.json")
        return None if text is None else json.loads(text)

    def pci_devices(self) -> list[dict] | None:
        text = self._file("lspci.txt")
        if text is None:
            return None
        cap = parse_capture(text)
        return parse_lspci(cap.out) if cap.rc == 0 else None

    def kernel_log(self) -> str | None:
        text = self._file("dmesg.txt")
        if text is None:
            return None
        cap = parse_capture(text)
        return cap.out if cap.rc == 0 else None

    def service_state(self, name: str) -> str | None:
        text = self._file(f"systemctl-is-active-{name}.txt")
        return None if text is None else parse_capture(text).out.strip() or None


# ---------------------------------------------------------------------------------------------
# Collection: readers -> normalized facts
# ---------------------------------------------------------------------------------------------

def _gpu_from_nvml(dev: dict) -> dict:
    def pair(key, i):
        v = dev.get(key)
        return as_bool(v[i]) if isinstance(v, list | tuple) and len(v) > i else None

    remap = dev.get("remapped_rows")
    remap = list(remap) if isinstance(remap, list | tuple) and len(remap) >= 4 else [None] * 4
    return {
        "index": dev.get("index"), "name": dev.get("name"), "uuid": dev.get("uuid"),
        "bus_id": dev.get("pci_bus_id"),
        "persistence_mode": as_bool(dev.get("persistence_mode")),
        "ecc_current": pair("ecc_mode", 0), "ecc_pending": pair("ecc_mode", 1),
        "mig_current": pair("mig_mode", 0), "mig_pending": pair("mig_mode", 1),
        "ecc_uncorrected_volatile": as_int(dev.get("ecc_uncorrected_volatile")),
        "ecc_uncorrected_aggregate": as_int(dev.get("ecc_uncorrected_aggregate")),
        "remap_correctable": as_int(remap[0]), "remap_uncorrectable": as_int(remap[1]),
        "remap_pending": as_bool(remap[2]), "remap_failure": as_bool(remap[3]),
        "pcie_gen_current": as_int(dev.get("pcie_gen")), "pcie_width_current": as_int(dev.get("pcie_width")),
        "pcie_gen_max": as_int(dev.get("pcie_gen_max")), "pcie_width_max": as_int(dev.get("pcie_width_max")),
        "fabric_state": None, "fabric_status": None,
    }


def _query_gpu(reader) -> tuple[Cmd, tuple[str, ...]]:
    fields = QUERY_FIELDS
    cmd = reader.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", f"--format={QUERY_FORMAT}"])
    if cmd.rc not in (0, None) and "is not a valid field" in cmd.out:
        # A driver that knows a field by its other spelling only: ask once more with it.
        bad = re.findall(r'Field "([^"]+)" is not a valid field', cmd.out)
        fields = tuple((other_spelling(f) or f) if f in bad else f for f in fields)
        cmd = reader.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", f"--format={QUERY_FORMAT}"])
    return cmd, fields


def _smi_failure(out: str) -> str:
    return " ".join(line.strip() for line in out.splitlines() if line.strip())[:300]


def collect(reader, source: str = "auto") -> dict:
    """Read every piece of evidence once and normalize it."""
    facts: dict = {"source": None, "errors": []}
    sys_ver = reader.read("/sys/module/nvidia/version")
    proc = reader.read("/proc/driver/nvidia/version")
    facts["module_present"] = True if (sys_ver.present or proc.present) else (
        False if sys_ver.present is False and proc.present is False else None)
    facts["kernel_module_version"] = (sys_ver.text.strip() if sys_ver.present else None) or (
        parse_proc_version(proc.text) if proc.present else None)

    gpus = None
    userspace = None
    mismatch = None
    no_driver = None
    if source in ("auto", "nvml"):
        snap = reader.nvml()
        if snap and not snap.get("init_error"):
            facts["source"] = "nvml"
            userspace = snap.get("driver")
            gpus = [_gpu_from_nvml(d) for d in snap.get("devices", [])]
        elif snap:
            err = snap["init_error"]
            facts["errors"].append(f"NVML: {err}")
            if "mismatch" in err.lower():
                mismatch = f"NVML: {err}"
            if "not loaded" in err.lower():
                no_driver = f"NVML: {err}"
    if gpus is None and source in ("auto", "nvidia-smi"):
        cmd, fields = _query_gpu(reader)
        if cmd.rc == 0:
            facts["source"] = "nvidia-smi"
            rows = parse_csv(cmd.out, fields)
            xml_cmd = reader.run(["nvidia-smi", "-q", "-x"])
            xml = parse_xml(xml_cmd.out) if xml_cmd.rc == 0 and xml_cmd.out.strip() else {"gpus": {}}
            remap_cmd = reader.run(["nvidia-smi", f"--query-remapped-rows={','.join(REMAP_FIELDS)}",
                                    "--format=csv"])
            remaps = {r.get("uuid"): r for r in parse_csv(remap_cmd.out)} if remap_cmd.rc == 0 else {}
            gpus = []
            for row in rows:
                userspace = userspace or row.get("driver_version")
                x = xml["gpus"].get(bus_key(row.get("pci.bus_id")), {})
                rm = remaps.get(row.get("uuid"), {})

                def pick(csv_value, xml_key, x=x):
                    return csv_value if csv_value is not None else x.get(xml_key)

                gpus.append({
                    "index": as_int(row.get("index")), "name": row.get("name"), "uuid": row.get("uuid"),
                    "bus_id": row.get("pci.bus_id"),
                    "persistence_mode": pick(as_bool(row.get("persistence_mode")), "persistence_mode"),
                    "mig_current": pick(as_bool(row.get("mig.mode.current")), "mig_current"),
                    "mig_pending": x.get("mig_pending"),
                    "ecc_current": pick(as_bool(row.get("ecc.mode.current")), "ecc_current"),
                    "ecc_pending": x.get("ecc_pending"),
                    "ecc_uncorrected_volatile": pick(as_int(row.get("ecc.errors.uncorrected.volatile.total")),
                                                     "ecc_uncorrected_volatile"),
                    "ecc_uncorrected_aggregate": pick(as_int(row.get("ecc.errors.uncorrected.aggregate.total")),
                                                      "ecc_uncorrected_aggregate"),
                    "remap_correctable": pick(as_int(rm.get("remapped_rows.correctable")), "remap_correctable"),
                    "remap_uncorrectable": pick(as_int(rm.get("remapped_rows.uncorrectable")),
                                                "remap_uncorrectable"),
                    "remap_pending": pick(as_bool(rm.get("remapped_rows.pending")), "remap_pending"),
                    "remap_failure": pick(as_bool(rm.get("remapped_rows.failure")), "remap_failure"),
                    "pcie_gen_current": pick(as_int(row.get("pcie.link.gen.current")), "pcie_gen_current"),
                    "pcie_width_current": pick(as_int(row.get("pcie.link.width.current")), "pcie_width_current"),
                    "pcie_gen_max": x.get("pcie_gen_max"), "pcie_width_max": x.get("pcie_width_max"),
                    "fabric_state": x.get("fabric_state"), "fabric_status": x.get("fabric_status"),
                    "event_reasons_active": row.get("clocks_event_reasons.active"),
                })
            userspace = userspace or xml.get("driver_version")
        elif cmd.rc is not None:
            msg = _smi_failure(cmd.out)
            facts["errors"].append(f"nvidia-smi (rc {cmd.rc}): {msg}")
            if "mismatch" in msg.lower():
                mismatch = f"nvidia-smi: {msg}"
                m = re.search(r"NVML library version:\s*([\d.]+)", cmd.out)
                userspace = m.group(1) if m else None
            if "couldn't communicate with the nvidia driver" in msg.lower():
                no_driver = f"nvidia-smi: {msg}"
        else:
            facts["errors"].append("nvidia-smi: not found")
    facts.update(userspace_version=userspace, version_mismatch=mismatch, driver_unreachable=no_driver, gpus=gpus)

    pci = reader.pci_devices()
    if pci is None:
        facts["pci_gpus"] = None
        facts["pci_nvswitches"] = None
    else:
        nv = [d for d in pci if d.get("vendor") == NVIDIA_VENDOR]
        facts["pci_gpus"] = sorted(d["address"] for d in nv if d.get("class", "")[:6] in GPU_CLASSES)
        facts["pci_nvswitches"] = sum(1 for d in nv if d.get("class", "")[:6] == NVSWITCH_CLASS)
    facts["kernel_log"] = reader.kernel_log()
    facts["fabric_manager_state"] = reader.service_state(FABRIC_MANAGER_SERVICE) if facts["pci_nvswitches"] else None
    return facts


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------

def _norm_product(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip()).lower()


def xids(log: str) -> list[dict]:
    return [{"pci": m.group(1), "xid": int(m.group(2)), "text": (m.group(3) or "").strip()[:120]}
            for m in _XID.finditer(log)]


def host_checks(facts: dict, expect: dict) -> dict:
    """Host-wide checks: driver, versions, GPU count, Xids, fabric manager."""
    out: dict = {}
    kver, uver = facts["kernel_module_version"], facts["userspace_version"]

    if facts["module_present"] is False:
        out["driver_loaded"] = check(FAIL, "nvidia kernel module not loaded: /sys/module/nvidia and "
                                           "/proc/driver/nvidia/version are absent")
    elif facts["driver_unreachable"]:
        out["driver_loaded"] = check(FAIL, f"driver not reachable: {facts['driver_unreachable']}")
    elif facts["module_present"]:
        out["driver_loaded"] = check(PASS, f"nvidia kernel module loaded ({kver or 'version unknown'})")
    elif facts["gpus"] is not None:
        out["driver_loaded"] = check(PASS, f"the driver answered {facts['source']} ({uver or 'version unknown'})")
    else:
        out["driver_loaded"] = check(NO_EVIDENCE, "neither /sys/module/nvidia nor /proc/driver/nvidia could be read")

    if facts["version_mismatch"]:
        out["driver_library_match"] = check(
            FAIL, f"Driver/library version mismatch: kernel module {kver or 'unknown'}, user-space "
                  f"{uver or 'unknown'} ({facts['version_mismatch']})", kernel_module=kver, userspace=uver)
    elif kver and uver:
        out["driver_library_match"] = (
            check(PASS, f"kernel module and user-space driver are both {kver}")
            if kver == uver else
            check(FAIL, f"Driver/library version mismatch: kernel module {kver} != user-space driver {uver}",
                  kernel_module=kver, userspace=uver))
    else:
        out["driver_library_match"] = check(NO_EVIDENCE, f"kernel module {kver or 'unknown'}, user-space "
                                                         f"{uver or 'unknown'}")

    pinned = expect.get("driver_version")
    running = uver or kver
    if not pinned:
        out["driver_version"] = check(PASS, f"no version pinned; running {running or 'unknown'}")
    elif running is None:
        out["driver_version"] = check(NO_EVIDENCE, f"pinned {pinned}, running version unknown")
    elif running == pinned or running.startswith(pinned + "."):
        out["driver_version"] = check(PASS, f"running {running}, pinned {pinned}")
    else:
        out["driver_version"] = check(FAIL, f"running driver {running}, pinned {pinned}")

    gpus, pci, expected = facts["gpus"], facts["pci_gpus"], expect.get("gpu_count")
    seen = None if gpus is None else len(gpus)
    problems = []
    if seen is not None and pci is not None and len(pci) > seen:
        known = {bus_key(g.get("bus_id")) for g in gpus}
        lost = [a for a in pci if bus_key(a) not in known]
        problems.append(f"PCI shows {len(pci)} NVIDIA GPUs but the driver sees {seen}"
                        + (f" (missing: {', '.join(lost)})" if lost else ""))
    if expected is not None:
        if seen is not None and seen != expected:
            problems.append(f"the driver sees {seen} GPUs, expected {expected}")
        if pci is not None and len(pci) != expected:
            problems.append(f"PCI shows {len(pci)} NVIDIA GPUs, expected {expected}")
    observed = {"driver": seen, "pci": None if pci is None else len(pci), "expected": expected}
    if problems:
        out["gpu_count"] = check(FAIL, "; ".join(problems), **observed)
    elif seen is None and pci is None:
        out["gpu_count"] = check(NO_EVIDENCE, "neither the driver nor PCI could be read", **observed)
    else:
        parts = [f"driver sees {seen}" if seen is not None else "driver count unknown",
                 f"PCI shows {len(pci)}" if pci is not None else "PCI not read"]
        if expected is not None:
            parts.append(f"expected {expected}")
        out["gpu_count"] = check(PASS, ", ".join(parts), **observed)

    log = facts["kernel_log"]
    fatal_set = set(expect.get("fatal_xids") or FATAL_XIDS)
    if log is None:
        out["xid"] = check(NO_EVIDENCE, "kernel log not readable (journalctl -k, dmesg, /dev/kmsg)")
    else:
        found = xids(log)
        fatal = [x for x in found if x["xid"] in fatal_set]
        if fatal:
            out["xid"] = check(FAIL, "fatal Xid since boot: " + "; ".join(
                f"Xid {x['xid']} on PCI:{x['pci']} ({FATAL_XIDS.get(x['xid'], x['text'])})" for x in fatal[:5]),
                xids=sorted({x["xid"] for x in found}))
        else:
            other = sorted({x["xid"] for x in found})
            out["xid"] = check(PASS, "no fatal Xid since boot" + (f" (non-fatal seen: {other})" if other else ""),
                               xids=other)

    switches = facts["pci_nvswitches"]
    fabric = [(g.get("fabric_state"), g.get("fabric_status")) for g in gpus or [] if g.get("fabric_state")]
    bad_fabric = [f"{s}/{st}" for s, st in fabric if s != "Completed" or (st and st != "Success")]
    if switches:
        state = facts["fabric_manager_state"]
        if state != "active":
            out["fabric_manager"] = check(FAIL, f"{switches} NVSwitch device(s) but {FABRIC_MANAGER_SERVICE} is "
                                                f"{state or 'not found'}")
        elif bad_fabric:
            out["fabric_manager"] = check(FAIL, f"GPU fabric registration not complete: {bad_fabric}")
        else:
            out["fabric_manager"] = check(PASS, f"{switches} NVSwitch device(s), {FABRIC_MANAGER_SERVICE} active")
    elif bad_fabric:
        out["fabric_manager"] = check(FAIL, f"GPU fabric registration not complete: {bad_fabric}")
    elif switches == 0:
        out["fabric_manager"] = check(PASS, "no NVSwitch on PCI: fabric manager not needed")
    else:
        out["fabric_manager"] = check(NO_EVIDENCE, "PCI not read: cannot tell whether NVSwitches are present")
    return out


def gpu_checks(gpu: dict, expect: dict) -> dict:
    """Per-GPU checks."""
    out: dict = {}
    name = gpu.get("name")
    want = expect.get("product")
    if name is None:
        out["product"] = check(NO_EVIDENCE, "product name not reported")
    elif want and _norm_product(name) != _norm_product(want):
        out["product"] = check(FAIL, f"product {name}, expected {want}")
    else:
        out["product"] = check(PASS, f"product {name}" + (" as expected" if want else ""))

    pm, want_pm = gpu.get("persistence_mode"), expect.get("persistence_mode", True)
    if pm is None:
        out["persistence_mode"] = check(NO_EVIDENCE, "persistence mode not reported")
    elif want_pm is None or pm == want_pm:
        out["persistence_mode"] = check(PASS, f"persistence mode {'on' if pm else 'off'}")
    else:
        out["persistence_mode"] = check(FAIL, f"persistence mode {'on' if pm else 'off'}, expected "
                                              f"{'on' if want_pm else 'off'}")

    ecc, pending, want_ecc = gpu.get("ecc_current"), gpu.get("ecc_pending"), expect.get("ecc_mode", "enabled")
    if ecc is None:
        out["ecc_mode"] = check(NO_EVIDENCE, "ECC mode not reported (board without ECC?)")
    elif want_ecc != "any" and ecc != (want_ecc == "enabled"):
        out["ecc_mode"] = check(FAIL, f"ECC {'enabled' if ecc else 'disabled'}, expected {want_ecc}"
                                      + ("; change pending until reset" if pending is not None and pending != ecc
                                         else ""))
    elif pending is not None and pending != ecc:
        out["ecc_mode"] = check(FAIL, f"ECC change pending: current {ecc}, pending {pending}; reset the GPU")
    else:
        out["ecc_mode"] = check(PASS, f"ECC {'enabled' if ecc else 'disabled'}")

    vol, agg = gpu.get("ecc_uncorrected_volatile"), gpu.get("ecc_uncorrected_aggregate")
    if vol is None and agg is None:
        out["ecc_errors"] = check(NO_EVIDENCE, "uncorrected ECC counters not reported")
    elif vol:
        out["ecc_errors"] = check(FAIL, f"{vol} uncorrected ECC error(s) since the driver loaded (aggregate "
                                        f"{agg if agg is not None else 'unknown'})", volatile=vol, aggregate=agg)
    else:
        out["ecc_errors"] = check(PASS, f"no uncorrected ECC error since the driver loaded (aggregate "
                                        f"{agg if agg is not None else 'unknown'})", volatile=vol, aggregate=agg)

    rp, rf = gpu.get("remap_pending"), gpu.get("remap_failure")
    if rp is None and rf is None:
        out["row_remap"] = check(NO_EVIDENCE, "row remapping not reported (pre-Ampere board?)")
    elif rf:
        out["row_remap"] = check(FAIL, "row remapping failure recorded: the GPU needs service")
    elif rp:
        out["row_remap"] = check(FAIL, "row remapping pending: reset the GPU to apply it")
    else:
        out["row_remap"] = check(PASS, f"no pending or failed row remap (correctable {gpu.get('remap_correctable')}, "
                                       f"uncorrectable {gpu.get('remap_uncorrectable')})")

    mig, mig_pending, want_mig = gpu.get("mig_current"), gpu.get("mig_pending"), expect.get("mig_mode", "any")
    if mig is None:
        out["mig_mode"] = check(NO_EVIDENCE if want_mig != "any" else PASS,
                                "MIG mode not reported" + ("" if want_mig != "any" else " (not required)"))
    elif want_mig != "any" and mig != (want_mig == "enabled"):
        out["mig_mode"] = check(FAIL, f"MIG {'enabled' if mig else 'disabled'}, expected {want_mig}")
    elif want_mig != "any" and mig_pending is not None and mig_pending != mig:
        out["mig_mode"] = check(FAIL, f"MIG change pending (current {mig}, pending {mig_pending}): reset the GPU")
    else:
        out["mig_mode"] = check(PASS, f"MIG {'enabled' if mig else 'disabled'}")

    gen, gen_max = gpu.get("pcie_gen_current"), gpu.get("pcie_gen_max")
    width, width_max = gpu.get("pcie_width_current"), gpu.get("pcie_width_max")
    want_gen, want_width = expect.get("pcie_gen"), expect.get("pcie_width")
    link = {"gen": gen, "gen_max": gen_max, "width": width, "width_max": width_max}
    problems = []
    if width is not None and width_max is not None and width < width_max:
        problems.append(f"link width x{width} below its maximum x{width_max}")
    if want_width and width is not None and width < want_width:
        problems.append(f"link width x{width}, expected x{want_width}")
    # The current generation drops when an idle GPU saves power: compare the link's maximum.
    capable = gen_max if gen_max is not None else gen
    if want_gen and capable is not None and capable < want_gen:
        problems.append(f"link generation {capable}, expected {want_gen}")
    if problems:
        out["pcie_link"] = check(FAIL, "; ".join(problems), **link)
    elif gen is None and width is None:
        out["pcie_link"] = check(NO_EVIDENCE, "PCIe link not reported", **link)
    else:
        out["pcie_link"] = check(PASS, f"PCIe gen {gen} (max {gen_max}) x{width} (max x{width_max})", **link)
    return out


def evaluate(reader, expect: dict | None = None, source: str = "auto", strict: bool = False) -> dict:
    """Collect evidence once and judge it: the host mode result."""
    expect = expect or {}
    facts = collect(reader, source)
    checks = host_checks(facts, expect)
    gpus = []
    scopes = [("host", checks)]
    for g in facts["gpus"] or []:
        scope = f"gpu{g.get('index')} ({g.get('bus_id') or g.get('uuid')})"
        gc = gpu_checks(g, expect)
        scopes.append((scope, gc))
        gpus.append({"index": g.get("index"), "uuid": g.get("uuid"), "name": g.get("name"),
                     "bus_id": g.get("bus_id"), "checks": gc})
    verdict = summarize(scopes, strict=strict)
    return {
        "mode": "host", "ready": verdict["ready"], "source": facts["source"],
        "driver": {"kernel_module": facts["kernel_module_version"], "userspace": facts["userspace_version"]},
        "gpu_count": None if facts["gpus"] is None else len(facts["gpus"]),
        "pci_gpu_count": None if facts["pci_gpus"] is None else len(facts["pci_gpus"]),
        "pci_nvswitch_count": facts["pci_nvswitches"],
        "checks": checks, "gpus": gpus, "counts": verdict["counts"], "failures": verdict["failures"],
        "no_evidence": verdict["no_evidence"], "errors": facts["errors"],
    }
