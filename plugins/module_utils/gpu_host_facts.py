"""GPU host facts: every piece of evidence read once (through a reader of gpu_host_read)
and normalized into one dict that the checks of gpu_host_check judge."""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_parse import (
    QUERY_FIELDS,
    QUERY_FORMAT,
    REMAP_FIELDS,
    Cmd,
    Garbled,
    as_bool,
    as_int,
    bus_key,
    other_spelling,
    parse_csv,
    parse_proc_version,
    parse_xml,
)

NVIDIA_VENDOR = "0x10de"
GPU_CLASSES = ("0x0300", "0x0302")   # VGA controller, 3D controller
NVSWITCH_CLASS = "0x0680"            # NVSwitch: bridge, other
FABRIC_MANAGER_SERVICE = "nvidia-fabricmanager"
# NVML_GPU_FABRIC_STATE_* (0 is NOT_SUPPORTED: no fabric to register with), in nvidia-smi -q's words.
NVML_FABRIC_STATES = {1: "Not Started", 2: "In Progress", 3: "Completed"}
# CUDA's unified memory device: without it CUDA fails to initialize while nvidia-smi answers.
UVM_DEVICE = "nvidia-uvm"
# More GPUs than this on one host is not a reading to trust (the largest systems have 16).
MAX_GPUS = 64
# The range a reading can have on any real board; outside it the evidence is corrupt, not judged.
PLAUSIBLE = {
    "index": (0, MAX_GPUS - 1),
    "temperature": (0, 200),                # degrees C
    "power_draw": (0, 5000),                # W
    "memory_total": (1, 1 << 24),           # MiB
    "utilization": (0, 100),                # %
    "ecc_uncorrected_volatile": (0, 1 << 48),
    "ecc_uncorrected_aggregate": (0, 1 << 48),
    "remap_correctable": (0, 1 << 20),
    "remap_uncorrectable": (0, 1 << 20),
    "pcie_gen_current": (1, 7),
    "pcie_gen_max": (1, 7),
    "pcie_width_current": (1, 32),
    "pcie_width_max": (1, 32),
}


def _text(raw) -> str | Garbled | None:
    return raw if raw is None or isinstance(raw, str) else Garbled(raw)


def implausible(gpu: dict) -> list[str]:
    """The readings of one GPU that no real board reports (corrupt text, NaN, out of range), each
    set to None so that no check judges it; returns what they were."""
    found = []
    for key, val in gpu.items():
        if val is None or key == "implausible":
            continue
        bounds = PLAUSIBLE.get(key)
        if isinstance(val, Garbled):
            found.append(f"{key} {str(val)[:40]!r} is not a reading")
        elif bounds and not isinstance(val, bool) and isinstance(val, int) and not bounds[0] <= val <= bounds[1]:
            found.append(f"{key} {val} outside {bounds[0]}..{bounds[1]}")
        else:
            continue
        gpu[key] = None
    return found


def _gpu_from_nvml(dev: dict) -> dict:
    def pair(key, i):
        v = dev.get(key)
        if v is None:
            return None
        return as_bool(v[i]) if isinstance(v, list | tuple) and len(v) > i else Garbled(v)

    remap = dev.get("remapped_rows")
    remap = list(remap) if isinstance(remap, list | tuple) and len(remap) >= 4 else (
        [None] * 4 if remap is None else [Garbled(remap)] * 4)
    return {
        "index": as_int(dev.get("index")), "name": _text(dev.get("name")), "uuid": _text(dev.get("uuid")),
        "bus_id": _text(dev.get("pci_bus_id")),
        "persistence_mode": as_bool(dev.get("persistence_mode")),
        "ecc_current": pair("ecc_mode", 0), "ecc_pending": pair("ecc_mode", 1),
        "mig_current": pair("mig_mode", 0), "mig_pending": pair("mig_mode", 1),
        "ecc_uncorrected_volatile": as_int(dev.get("ecc_uncorrected_volatile")),
        "ecc_uncorrected_aggregate": as_int(dev.get("ecc_uncorrected_aggregate")),
        "remap_correctable": as_int(remap[0]), "remap_uncorrectable": as_int(remap[1]),
        "remap_pending": as_bool(remap[2]), "remap_failure": as_bool(remap[3]),
        "pcie_gen_current": as_int(dev.get("pcie_gen")), "pcie_width_current": as_int(dev.get("pcie_width")),
        "pcie_gen_max": as_int(dev.get("pcie_gen_max")), "pcie_width_max": as_int(dev.get("pcie_width_max")),
        "temperature": as_int(dev.get("temperature")),
        **_nvml_fabric(dev.get("fabric")),
    }


def _nvml_fabric(fabric) -> dict:
    """fabric_state/fabric_status in nvidia-smi's words from NVML's fabric info; None where NVML
    could not say (the GPU has no fabric: state not supported; or the read failed)."""
    none = {"fabric_state": None, "fabric_status": None}
    if not isinstance(fabric, dict):
        return none
    state, status = as_int(fabric.get("state")), as_int(fabric.get("status"))
    if state not in NVML_FABRIC_STATES:
        return none
    return {"fabric_state": NVML_FABRIC_STATES[state],
            "fabric_status": None if status is None else "Success" if status == 0 else f"NVML error {status}"}


def _nvml_gpus(snap) -> tuple[list[dict] | None, str | None]:
    """(GPUs, None) from an NVML snapshot, or (None, what is wrong with it)."""
    if not isinstance(snap, dict):
        return None, f"the snapshot is not an object ({str(snap)[:80]!r})"
    devices, count = snap.get("devices"), snap.get("count")
    if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
        return None, "the snapshot has no list of devices"
    if count != len(devices):
        return None, f"NVML counts {count!r} GPUs but describes {len(devices)}"
    return [_gpu_from_nvml(d) for d in devices], None


def _query_gpu(reader) -> tuple[Cmd, tuple[str, ...]]:
    fields = QUERY_FIELDS
    cmd = reader.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", f"--format={QUERY_FORMAT}"])
    if cmd.rc not in (0, None) and "is not a valid field" in cmd.text:
        # A driver that knows a field by its other spelling only: ask once more with it.
        bad = re.findall(r'Field "([^"]+)" is not a valid field', cmd.text)
        fields = tuple((other_spelling(f) or f) if f in bad else f for f in fields)
        cmd = reader.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", f"--format={QUERY_FORMAT}"])
    return cmd, fields


def _smi_failure(out: str) -> str:
    return " ".join(line.strip() for line in out.splitlines() if line.strip())[:300]


def _smi_gpus(reader, cmd: Cmd, fields: tuple[str, ...], facts: dict) -> tuple[list[dict] | None, str | None]:
    """(GPUs, user-space driver version) from nvidia-smi's CSV (``cmd``, which succeeded), completed
    by its XML and its remapped-rows CSV; (None, None) when the CSV cannot be read."""
    try:
        rows = parse_csv(cmd.out, fields)
    except ValueError as exc:
        facts["malformed"].append(f"nvidia-smi --query-gpu: {exc}")
        return None, None
    counts = {as_int(r.get("count")) for r in rows}
    if rows and counts != {len(rows)}:
        facts["malformed"].append(f"nvidia-smi --query-gpu lists {len(rows)} GPUs but counts "
                                  f"{', '.join(str(c) for c in counts)}")
        return None, None
    xml_cmd = reader.run(["nvidia-smi", "-q", "-x"])
    xml: dict = {"gpus": {}}
    if xml_cmd.rc == 0 and xml_cmd.out.strip():
        try:
            xml = parse_xml(xml_cmd.out)
        except ValueError as exc:
            facts["malformed"].append(f"nvidia-smi -q -x: {exc}")
    remap_cmd = reader.run(["nvidia-smi", f"--query-remapped-rows={','.join(REMAP_FIELDS)}", "--format=csv"])
    remaps = {}
    if remap_cmd.rc == 0:
        try:
            remaps = {r.get("uuid"): r for r in parse_csv(remap_cmd.out)}
        except ValueError as exc:
            facts["malformed"].append(f"nvidia-smi --query-remapped-rows: {exc}")
    userspace = None
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
            "remap_uncorrectable": pick(as_int(rm.get("remapped_rows.uncorrectable")), "remap_uncorrectable"),
            "remap_pending": pick(as_bool(rm.get("remapped_rows.pending")), "remap_pending"),
            "remap_failure": pick(as_bool(rm.get("remapped_rows.failure")), "remap_failure"),
            "pcie_gen_current": pick(as_int(row.get("pcie.link.gen.current")), "pcie_gen_current"),
            "pcie_width_current": pick(as_int(row.get("pcie.link.width.current")), "pcie_width_current"),
            "pcie_gen_max": x.get("pcie_gen_max"), "pcie_width_max": x.get("pcie_width_max"),
            "temperature": as_int(row.get("temperature.gpu")), "power_draw": as_int(row.get("power.draw")),
            "memory_total": as_int(row.get("memory.total")), "utilization": as_int(row.get("utilization.gpu")),
            "fabric_state": x.get("fabric_state"), "fabric_status": x.get("fabric_status"),
            "event_reasons_active": row.get("clocks_event_reasons.active"),
        })
    return gpus, userspace or xml.get("driver_version")


def collect(reader, source: str = "auto") -> dict:
    """Read every piece of evidence once and normalize it. Output that cannot be read (not CSV,
    not XML, counts that disagree) is listed in ``malformed``; readings no board reports in each
    GPU's ``implausible``. Nothing here raises on what a host prints."""
    facts: dict = {"source": None, "errors": [], "malformed": []}
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
        if snap is None:
            facts["errors"].append("NVML: not available (pynvml not importable or no NVML library)")
        elif isinstance(snap, dict) and snap.get("init_error"):
            err = str(snap["init_error"])
            facts["errors"].append(f"NVML: {err}")
            if "mismatch" in err.lower():
                mismatch = f"NVML: {err}"
            if "not loaded" in err.lower():
                no_driver = f"NVML: {err}"
        else:
            gpus, problem = _nvml_gpus(snap)
            if problem:
                facts["malformed"].append(f"NVML: {problem}")
            else:
                facts["source"] = "nvml"
                userspace = _text(snap.get("driver"))
    if gpus is None and source in ("auto", "nvidia-smi"):
        cmd, fields = _query_gpu(reader)
        if cmd.rc == 0:
            gpus, userspace = _smi_gpus(reader, cmd, fields, facts)
            facts["source"] = "nvidia-smi" if gpus is not None else None
        elif cmd.rc is None:
            facts["errors"].append("nvidia-smi: not found")
        elif cmd.rc != 0:
            msg = _smi_failure(cmd.text)
            facts["errors"].append(f"nvidia-smi (rc {cmd.rc}): {msg}")
            if "mismatch" in msg.lower():
                mismatch = f"nvidia-smi: {msg}"
                m = re.search(r"NVML library version:\s*([\d.]+)", cmd.text)
                userspace = m.group(1) if m else None
            if "couldn't communicate with the nvidia driver" in msg.lower():
                no_driver = f"nvidia-smi: {msg}"
    for gpu in gpus or []:
        gpu["implausible"] = implausible(gpu)
    if isinstance(userspace, Garbled):
        facts["malformed"].append(f"user-space driver version {str(userspace)[:40]!r} is not a version")
        userspace = None
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
    facts["device_nodes"] = reader.device_nodes()
    return facts
