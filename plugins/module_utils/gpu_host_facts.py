"""GPU host facts: every piece of evidence read once (through a reader of gpu_host_read)
and normalized into one dict that the checks of gpu_host_check judge."""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_parse import (
    QUERY_FIELDS,
    QUERY_FORMAT,
    REMAP_FIELDS,
    Cmd,
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

