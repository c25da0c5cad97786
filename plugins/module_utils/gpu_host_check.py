"""GPU host checks: is this NVIDIA GPU host really ready for work? Each check judges the
facts of gpu_host_facts and ends in pass, fail or no_evidence (gpu_verdict)."""

from __future__ import annotations

import re

from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_facts import (
    FABRIC_MANAGER_SERVICE,
    MAX_GPUS,
    UVM_DEVICE,
    collect,
)
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_parse import bus_key, xids
from ansible_collections.agentic.platform.plugins.module_utils.gpu_verdict import (
    FAIL,
    NO_EVIDENCE,
    PASS,
    check,
    summarize,
)

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


def _norm_product(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip()).lower()


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
    # Fail closed: a host is ready only when the driver shows it at least one GPU.
    if seen is None:
        why = "; ".join(facts["errors"] + facts["malformed"]) or f"source {facts.get('source')} not read"
        problems.append(f"no GPU evidence: the driver could not be asked ({why})")
    elif seen == 0:
        problems.append("the driver sees no GPU")
    elif seen > MAX_GPUS:
        problems.append(f"the driver reports {seen} GPUs, more than {MAX_GPUS}: not a reading to trust")
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

    if facts["malformed"]:
        out["evidence"] = check(FAIL, "output that cannot be read: " + "; ".join(facts["malformed"]))
    else:
        out["evidence"] = check(PASS, "every output read parsed")

    out["nvidia_uvm"] = nvidia_uvm(facts["device_nodes"])

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


def nvidia_uvm(nodes: list[str] | None) -> dict:
    """/dev/nvidia-uvm: nvidia-smi answers without it, CUDA does not (the nvidia-uvm module not
    loaded, or its device node never created: nvidia-modprobe / nvidia-ctk system create-device-nodes)."""
    if nodes is None:
        return check(NO_EVIDENCE, "/dev could not be read for the nvidia device nodes")
    if UVM_DEVICE not in nodes:
        return check(FAIL, f"/dev/{UVM_DEVICE} missing: CUDA cannot initialize (load nvidia-uvm and create its "
                           "device nodes)", device_nodes=nodes)
    tools = f"{UVM_DEVICE}-tools"
    return check(PASS, f"/dev/{UVM_DEVICE} present" + ("" if tools in nodes else f" (/dev/{tools} absent)"),
                 device_nodes=nodes)


def gpu_checks(gpu: dict, expect: dict) -> dict:
    """Per-GPU checks."""
    out: dict = {}
    wrong = gpu.get("implausible") or []
    out["evidence"] = (check(FAIL, "readings no board reports: " + "; ".join(wrong)) if wrong
                       else check(PASS, "every reading plausible"))
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
