"""GPU host readers: where the evidence comes from.

:class:`SystemReader` reads the live host (NVML through ``pynvml`` when it is importable and a
driver answers, ``nvidia-smi`` otherwise, sysfs/procfs, PCI, the kernel log, systemd);
:class:`ReplayReader` answers the same questions from a directory of captured output (the real
files under ``shared/fixtures/gpu/``), so the checks are tested on what a real host printed.
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

from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_parse import (
    Cmd,
    Probe,
    canonical,
    parse_capture,
    parse_lspci,
    value,
)


class ReplayError(Exception):
    """The replay was asked for something that was never captured."""


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
            res = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", errors="replace",
                                 timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Cmd(None, err=str(exc))
        # Apart: a warning on stderr must not become a row of the CSV on stdout.
        return Cmd(res.returncode, res.stdout, res.stderr)

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

    def device_nodes(self) -> list[str] | None:
        """The names of /dev/nvidia* (nvidia0, nvidiactl, nvidia-uvm, ...), or None when /dev cannot be read."""
        try:
            return sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))
        except OSError:
            return None


def _nvml_snapshot(nv) -> dict:
    def get(fn, *args):
        try:
            res = fn(*args)
        except (nv.NVMLError, AttributeError, TypeError):
            return None
        return res.decode() if isinstance(res, bytes) else res

    snap = {"driver": get(nv.nvmlSystemGetDriverVersion), "nvml": get(nv.nvmlSystemGetNVMLVersion),
            "count": get(nv.nvmlDeviceGetCount), "devices": []}
    count = snap["count"] if isinstance(snap["count"], int) else 0
    for i in range(min(count, 128)):  # a count beyond any real host is reported, not iterated
        h = get(nv.nvmlDeviceGetHandleByIndex, i)
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
            "fabric": _nvml_fabric(nv, h),
        })
    return snap


def _nvml_fabric(nv, handle) -> dict | None:
    """{'state', 'status'} of the GPU's NVLink fabric registration (what fabric manager completes),
    or None where this NVML or GPU cannot say."""
    try:
        if hasattr(nv, "nvmlDeviceGetGpuFabricInfoV"):
            info = nv.nvmlDeviceGetGpuFabricInfoV(handle)
        else:  # older bindings fill a structure the caller passes
            import ctypes
            info = nv.c_nvmlGpuFabricInfo_t()
            nv.nvmlDeviceGetGpuFabricInfo(handle, ctypes.byref(info))
        return {"state": int(info.state), "status": int(info.status)}
    except (nv.NVMLError, AttributeError, TypeError, ValueError):
        return None


class ReplayReader:
    """Answers from captured files. Directories are searched in order, so a test can put a
    degraded copy of one real file in a directory in front of the real fixture directory.

    Files: driver-version.txt (/proc/driver/nvidia/version), sys-module-nvidia-version.txt,
    query-gpu.csv / query-gpu-noheader-nounits.csv, query-remapped-rows.csv, nvidia-smi-q.xml,
    help-query-gpu.txt (the driver's accepted field names), nvml.json, lspci.txt (`lspci -Dn`),
    dmesg.txt, systemctl-is-active-<service>.txt, dev-nvidia.txt (`ls -1 /dev/nvidia*`),
    nvidia-smi-error.txt (what every nvidia-smi call prints when the tool itself fails). Captures
    may carry the fixtures' '$ command' and '[rc=N]' lines; '[rc=N]' with N != 0 means the command
    failed or the file was absent.
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
                with open(path, encoding="utf-8", errors="replace") as fh:
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

    def nvml(self) -> dict | str | None:
        """The captured snapshot; its text when it is not JSON (the facts report it as malformed)."""
        text = self._file("nvml.json")
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text

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

    def device_nodes(self) -> list[str] | None:
        text = self._file("dev-nvidia.txt")
        if text is None:
            return None
        cap = parse_capture(text)
        return sorted(line.strip().rsplit("/", 1)[-1] for line in cap.out.splitlines() if line.strip()) \
            if cap.rc == 0 else None
