"""Host-mode GPU readiness on REAL captured output (shared/fixtures/gpu/h200-driver-580.159.04).

Degraded cases copy one real file, change what the case is about, and put the copy in a
directory searched before the real one; each test names the real file it started from.
Files the capture does not have (lspci.txt, dmesg.txt, systemctl answers) are written from
facts in the real files (the GPU's PCI address and device id come from nvidia-smi-q.xml).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from ansible_collections.agentic.platform.plugins.module_utils import gpu_host_parse as parse
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_check import evaluate
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_read import ReplayReader
from ansible_collections.agentic.platform.plugins.module_utils.gpu_readiness_run import until_ready
from ansible_collections.agentic.platform.plugins.module_utils.gpu_verdict import failure_message

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(os.environ.get("AGENTIC_GPU_FIXTURE", "/work/shared/fixtures/gpu/h200-driver-580.159.04"))
if not FIXTURE.is_dir():  # the fixtures live outside the repository; refuse to pass without them
    raise RuntimeError(f"GPU fixtures not found at {FIXTURE}; set AGENTIC_GPU_FIXTURE")

# From nvidia-smi-q.xml: <gpu id="00000000:00:06.0">, <pci_device_id>233510DE</pci_device_id>,
# <pci_base_class>3</pci_base_class> <pci_sub_class>2</pci_sub_class>.
REAL_GPU_LSPCI = "0000:00:06.0 0302: 10de:2335 (rev a1)\n"
# `ls -1 /dev/nvidia*` was not captured. Written from nvidia-smi-q.xml's <minor_number>0</minor_number>
# (nvidia0 and the control node nvidiactl) plus the two nodes the nvidia-uvm module creates.
REAL_DEV_NODES = "/dev/nvidia-uvm\n/dev/nvidia-uvm-tools\n/dev/nvidia0\n/dev/nvidiactl\n"


def real(name: str) -> str:
    return (FIXTURE / name).read_text()


@pytest.fixture
def overlay(tmp_path):
    """A directory searched before the real fixtures; write degraded copies into it."""
    def write(name: str, text: str) -> None:
        (tmp_path / name).write_text(text)
    write.dir = tmp_path
    return write


def replay(overlay=None) -> ReplayReader:
    return ReplayReader(*([overlay.dir] if overlay else []), FIXTURE)


def nounits_row_with(**changes) -> str:
    """query-gpu-noheader-nounits.csv (real) with some fields (QUERY_FIELDS names) changed."""
    row = [v.strip() for v in real("query-gpu-noheader-nounits.csv").strip().split(",")]
    assert len(row) == len(parse.QUERY_FIELDS)
    for key, val in changes.items():
        row[parse.QUERY_FIELDS.index(key.replace("__", "."))] = val
    return ", ".join(row) + "\n"


# --- the real capture, as it is --------------------------------------------------------------

def test_real_capture_via_nvidia_smi_is_ready():
    reader = replay()
    res = evaluate(reader, {"gpu_count": 1, "product": "NVIDIA-H200", "driver_version": "580.159.04",
                            "pcie_gen": 5, "pcie_width": 16, "mig_mode": "disabled"}, source="nvidia-smi")
    assert res["ready"] is True, res["failures"]
    assert res["source"] == "nvidia-smi"
    assert res["driver"] == {"kernel_module": "580.159.04", "userspace": "580.159.04"}
    gpu = res["gpus"][0]
    assert gpu["name"] == "NVIDIA H200" and gpu["bus_id"] == "00000000:00:06.0"
    assert {c["status"] for c in gpu["checks"].values()} == {"pass"}
    assert gpu["checks"]["pcie_link"]["observed"] == {"gen": 5, "gen_max": 5, "width": 16, "width_max": 16}
    # not captured: kernel log and PCI listing -> no evidence, which is not failure
    assert res["checks"]["xid"]["status"] == "no_evidence"
    assert res["checks"]["fabric_manager"]["status"] == "no_evidence"
    # the module asked exactly what the capture answers (so the replay served the real bytes)
    assert reader.calls[0] == ["nvidia-smi", "--query-gpu=" + ",".join(parse.QUERY_FIELDS),
                               "--format=csv,noheader,nounits"]
    assert ["nvidia-smi", "-q", "-x"] in reader.calls


def test_real_capture_via_nvml_snapshot_is_ready():
    """nvml.json (real pynvml read) as the source."""
    res = evaluate(replay(), {"gpu_count": 1, "product": "NVIDIA H200", "pcie_width": 16}, source="nvml")
    assert res["ready"] is True, res["failures"]
    assert res["source"] == "nvml"
    checks = res["gpus"][0]["checks"]
    assert checks["persistence_mode"]["status"] == "pass"
    assert checks["row_remap"]["status"] == "pass"
    assert checks["pcie_link"]["observed"]["width"] == 16


def test_strict_turns_missing_evidence_into_not_ready():
    res = evaluate(replay(), {}, source="nvidia-smi", strict=True)
    assert res["ready"] is False
    assert "host: xid" in failure_message("x", res)


# --- parsing: units, headers, renamed fields -------------------------------------------------

def test_csv_with_header_and_units_matches_noheader_nounits():
    """query-gpu.csv (header + units) and query-gpu-noheader-nounits.csv parse to the same values."""
    with_header = parse.parse_csv(real("query-gpu.csv"))[0]
    bare = parse.parse_csv(real("query-gpu-noheader-nounits.csv"), parse.QUERY_FIELDS)[0]
    assert with_header["memory.total"] == "143771" == bare["memory.total"]
    for key in ("uuid", "pci.bus_id", "driver_version", "persistence_mode", "ecc.mode.current",
                "clocks_event_reasons.active", "pcie.link.gen.current", "pcie.link.width.current"):
        assert with_header[key] == bare[key], key
    # the driver answered the old name with the new one; both map to one key
    assert "clocks_event_reasons.active [" not in real("query-gpu.csv")
    assert with_header["clocks_event_reasons.active"] == "0x0000000000000001"


def test_old_field_name_in_header_maps_to_the_same_key():
    """query-gpu.csv with the header an older driver prints (clocks_throttle_reasons.active)."""
    old = real("query-gpu.csv").replace("clocks_event_reasons.active", "clocks_throttle_reasons.active")
    assert "clocks_throttle_reasons.active" in old
    assert parse.parse_csv(old)[0]["clocks_event_reasons.active"] == "0x0000000000000001"


def test_driver_that_dropped_the_old_name_gets_the_new_one_on_retry(overlay):
    """help-query-gpu.txt (real) without the old 'clocks_throttle_reasons.*' spellings."""
    helptext = "\n".join(line.split(' or "clocks_throttle_reasons')[0]
                         for line in real("help-query-gpu.txt").splitlines())
    assert "clocks_throttle_reasons" not in helptext
    overlay("help-query-gpu.txt", helptext)
    reader = replay(overlay)
    res = evaluate(reader, {"gpu_count": 1}, source="nvidia-smi")
    assert res["ready"] is True, res["failures"]
    queries = [c for c in reader.calls if c[1].startswith("--query-gpu=")]
    assert len(queries) == 2
    assert "clocks_throttle_reasons.active" in queries[0][1]
    assert "clocks_event_reasons.active" in queries[1][1]


def test_not_available_values_are_no_evidence_not_failure(overlay):
    """query-gpu-noheader-nounits.csv, query-remapped-rows.csv and nvidia-smi-q.xml (real) with the
    ECC, persistence and row-remap values a board without them prints."""
    overlay("query-gpu-noheader-nounits.csv", nounits_row_with(
        persistence_mode="[Not Supported]", ecc__mode__current="[N/A]",
        ecc__errors__uncorrected__volatile__total="[N/A]", ecc__errors__uncorrected__aggregate__total="[N/A]"))
    overlay("query-remapped-rows.csv",
            real("query-remapped-rows.csv").replace("0, 0, No, No", "[N/A], [N/A], [N/A], [N/A]"))
    xml = real("nvidia-smi-q.xml")
    for tag in ("persistence_mode", "current_ecc", "pending_ecc", "dram_uncorrectable", "sram_uncorrectable_parity",
                "sram_uncorrectable_secded", "remapped_row_pending", "remapped_row_failure"):
        for was in ("No", "0", "Enabled"):
            xml = xml.replace(f"<{tag}>{was}</{tag}>", f"<{tag}>N/A</{tag}>")
    overlay("nvidia-smi-q.xml", xml)
    res = evaluate(replay(overlay), {"gpu_count": 1}, source="nvidia-smi")
    checks = res["gpus"][0]["checks"]
    for name in ("persistence_mode", "ecc_mode", "ecc_errors", "row_remap"):
        assert checks[name]["status"] == "no_evidence", (name, checks[name])
    assert res["ready"] is True
    assert evaluate(replay(overlay), {"gpu_count": 1}, source="nvidia-smi", strict=True)["ready"] is False


def test_csv_gap_is_filled_from_the_xml(overlay):
    """query-gpu-noheader-nounits.csv (real) with ECC [N/A]; the real nvidia-smi-q.xml still has it."""
    overlay("query-gpu-noheader-nounits.csv", nounits_row_with(ecc__mode__current="[N/A]"))
    res = evaluate(replay(overlay), {}, source="nvidia-smi")
    assert res["gpus"][0]["checks"]["ecc_mode"]["status"] == "pass"


# --- degraded hosts --------------------------------------------------------------------------

def test_uncorrected_ecc_errors_fail(overlay):
    """query-gpu-noheader-nounits.csv (real) with 2 volatile uncorrected ECC errors."""
    overlay("query-gpu-noheader-nounits.csv", nounits_row_with(ecc__errors__uncorrected__volatile__total="2",
                                                               ecc__errors__uncorrected__aggregate__total="2"))
    res = evaluate(replay(overlay), {"gpu_count": 1}, source="nvidia-smi")
    assert res["ready"] is False
    assert res["gpus"][0]["checks"]["ecc_errors"]["status"] == "fail"
    msg = failure_message("GPU host not ready", res)
    assert "gpu0 (00000000:00:06.0): ecc_errors: 2 uncorrected ECC error(s)" in msg


def test_ecc_disabled_fails(overlay):
    """query-gpu-noheader-nounits.csv (real) with ECC mode Disabled."""
    overlay("query-gpu-noheader-nounits.csv", nounits_row_with(ecc__mode__current="Disabled"))
    res = evaluate(replay(overlay), {}, source="nvidia-smi")
    assert res["gpus"][0]["checks"]["ecc_mode"]["status"] == "fail"
    # the real nvidia-smi-q.xml still says ECC pending Enabled: a reset would turn it on
    anyway = evaluate(replay(overlay), {"ecc_mode": "any"}, source="nvidia-smi")["gpus"][0]["checks"]["ecc_mode"]
    assert anyway["status"] == "fail" and "pending" in anyway["reason"]


@pytest.mark.parametrize(("pending", "failure", "words"), [("Yes", "No", "pending"), ("No", "Yes", "failure")])
def test_pending_or_failed_row_remap_fails(overlay, pending, failure, words):
    """query-remapped-rows.csv (real) with a pending remap / a remapping failure."""
    overlay("query-remapped-rows.csv",
            real("query-remapped-rows.csv").replace("0, 0, No, No", f"0, 1, {pending}, {failure}"))
    assert f"{pending}, {failure}" in (overlay.dir / "query-remapped-rows.csv").read_text()
    res = evaluate(replay(overlay), {}, source="nvidia-smi")
    check = res["gpus"][0]["checks"]["row_remap"]
    assert check["status"] == "fail" and words in check["reason"]


def test_pending_remap_from_nvml(overlay):
    """nvml.json (real) with remapped_rows pending = 1."""
    snap = json.loads(real("nvml.json"))
    snap["devices"][0]["remapped_rows"] = [0, 1, 1, 0]
    overlay("nvml.json", json.dumps(snap))
    res = evaluate(replay(overlay), {}, source="nvml")
    assert res["gpus"][0]["checks"]["row_remap"]["status"] == "fail"


def test_missing_gpu_pci_shows_more_than_the_driver(overlay):
    """lspci.txt written from nvidia-smi-q.xml's GPU (00:06.0) plus a second H200 at 00:07.0
    that the driver (query-gpu-noheader-nounits.csv, real: one GPU) does not see."""
    overlay("lspci.txt", REAL_GPU_LSPCI + "0000:00:07.0 0302: 10de:2335 (rev a1)\n0000:00:01.0 0600: 8086:1237\n")
    res = evaluate(replay(overlay), {"gpu_count": 2}, source="nvidia-smi")
    check = res["checks"]["gpu_count"]
    assert check["status"] == "fail"
    assert "PCI shows 2 NVIDIA GPUs but the driver sees 1 (missing: 0000:00:07.0)" in check["reason"]
    assert "the driver sees 1 GPUs, expected 2" in check["reason"]
    assert res["pci_gpu_count"] == 2


def test_pci_and_driver_agree(overlay):
    """lspci.txt written from nvidia-smi-q.xml's GPU; no NVSwitch -> fabric manager not needed."""
    overlay("lspci.txt", REAL_GPU_LSPCI)
    res = evaluate(replay(overlay), {"gpu_count": 1}, source="nvidia-smi")
    assert res["checks"]["gpu_count"]["status"] == "pass"
    assert res["checks"]["fabric_manager"]["status"] == "pass"


def test_persistence_off_fails(overlay):
    """query-gpu-noheader-nounits.csv (real) with persistence_mode Disabled."""
    overlay("query-gpu-noheader-nounits.csv", nounits_row_with(persistence_mode="Disabled"))
    res = evaluate(replay(overlay), {}, source="nvidia-smi")
    assert res["ready"] is False
    assert "gpu0 (00000000:00:06.0): persistence_mode: persistence mode off, expected on" in res["failures"]


def test_driver_not_loaded(overlay):
    """driver-version.txt (real capture format) when /proc/driver/nvidia is absent, and what
    nvidia-smi prints without a driver."""
    overlay("driver-version.txt", "$ cat /proc/driver/nvidia/version\ncat: /proc/driver/nvidia/version: "
                                  "No such file or directory\n[rc=1]\n")
    overlay("sys-module-nvidia-version.txt", "$ cat /sys/module/nvidia/version\ncat: /sys/module/nvidia/version: "
                                             "No such file or directory\n[rc=1]\n")
    overlay("nvidia-smi-error.txt", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
                                    "Make sure that the latest NVIDIA driver is installed and running.\n\n[rc=9]\n")
    res = evaluate(replay(overlay), {"gpu_count": 1}, source="nvidia-smi")
    assert res["ready"] is False
    assert res["checks"]["driver_loaded"]["status"] == "fail"
    assert "not loaded" in res["checks"]["driver_loaded"]["reason"]
    assert res["gpus"] == [] and res["gpu_count"] is None


def test_driver_library_mismatch_reported_by_nvidia_smi(overlay):
    """driver-version.txt (real) with an older kernel module (580.95.05) left loaded after the
    user-space driver was upgraded to 580.159.04; nvidia-smi then prints the mismatch."""
    overlay("driver-version.txt", real("driver-version.txt").replace("580.159.04", "580.95.05"))
    overlay("nvidia-smi-error.txt", "Failed to initialize NVML: Driver/library version mismatch\n"
                                    "NVML library version: 580.159\n[rc=18]\n")
    res = evaluate(replay(overlay), {}, "nvidia-smi")
    check = res["checks"]["driver_library_match"]
    assert check["status"] == "fail"
    assert "Driver/library version mismatch" in check["reason"] and "580.95.05" in check["reason"]
    assert res["ready"] is False


def test_driver_library_mismatch_reported_by_nvml(overlay):
    """nvml.json (real) replaced by what nvmlInit raises on a mismatch; driver-version.txt (real) older."""
    overlay("driver-version.txt", real("driver-version.txt").replace("580.159.04", "580.95.05"))
    overlay("nvml.json", json.dumps({"init_error": "RM has detected an NVML/RM version mismatch.",
                                     "init_error_class": "NVMLError_LibRmVersionMismatch"}))
    overlay("nvidia-smi-error.txt", "Failed to initialize NVML: Driver/library version mismatch\n"
                                    "NVML library version: 580.159\n[rc=18]\n")
    res = evaluate(replay(overlay), {}, source="auto")
    assert res["checks"]["driver_library_match"]["status"] == "fail"
    assert any("NVML/RM version mismatch" in e for e in res["errors"])


def test_kernel_module_version_differs_from_user_space(overlay):
    """sys-module-nvidia-version.txt (from driver-version.txt's version, changed) vs the real
    query-gpu output's driver_version 580.159.04."""
    overlay("sys-module-nvidia-version.txt", "570.172.08\n")
    res = evaluate(replay(overlay), {}, source="nvidia-smi")
    check = res["checks"]["driver_library_match"]
    assert check["status"] == "fail"
    assert check["observed"] == {"kernel_module": "570.172.08", "userspace": "580.159.04"}


def test_pinned_driver_version(overlay):
    """Real capture (580.159.04) against pins."""
    assert evaluate(replay(), {"driver_version": "580"}, "nvidia-smi")["checks"]["driver_version"]["status"] == "pass"
    res = evaluate(replay(), {"driver_version": "570.172.08"}, "nvidia-smi")
    assert res["checks"]["driver_version"]["status"] == "fail"
    assert "running driver 580.159.04, pinned 570.172.08" in res["checks"]["driver_version"]["reason"]


def test_expected_product_and_mig(overlay):
    """Real capture (NVIDIA H200, MIG disabled) against other expectations."""
    res = evaluate(replay(), {"product": "NVIDIA H100 80GB HBM3", "mig_mode": "enabled"}, "nvidia-smi")
    assert res["gpus"][0]["checks"]["product"]["status"] == "fail"
    assert res["gpus"][0]["checks"]["mig_mode"]["status"] == "fail"


def test_degraded_pcie_link_fails(overlay):
    """query-gpu-noheader-nounits.csv and nvidia-smi-q.xml (real) with the link trained at x8."""
    overlay("query-gpu-noheader-nounits.csv", nounits_row_with(pcie__link__width__current="8"))
    overlay("nvidia-smi-q.xml", real("nvidia-smi-q.xml").replace(
        "<current_link_width>16x</current_link_width>", "<current_link_width>8x</current_link_width>"))
    res = evaluate(replay(overlay), {}, "nvidia-smi")
    check = res["gpus"][0]["checks"]["pcie_link"]
    assert check["status"] == "fail" and "x8 below its maximum x16" in check["reason"]
    assert evaluate(replay(), {"pcie_gen": 6}, "nvidia-smi")["gpus"][0]["checks"]["pcie_link"]["status"] == "fail"


def test_fatal_xid_in_kernel_log_fails(overlay):
    """dmesg.txt with NVRM lines for the real GPU's PCI address (nvidia-smi-q.xml: 00:06.0)."""
    overlay("dmesg.txt", "[   12.3] nvidia-modeset: Loading NVIDIA UNIX Open Kernel Mode Setting Driver\n"
                         "[ 4242.1] NVRM: Xid (PCI:0000:00:06): 13, pid=4242, name=python, Graphics Exception\n"
                         "[ 4243.9] NVRM: Xid (PCI:0000:00:06): 79, pid=0, name=none, GPU has fallen off the bus.\n")
    res = evaluate(replay(overlay), {}, "nvidia-smi")
    check = res["checks"]["xid"]
    assert check["status"] == "fail"
    assert "Xid 79 on PCI:0000:00:06 (GPU has fallen off the bus)" in check["reason"]
    assert check["observed"]["xids"] == [13, 79]


def test_application_xid_is_not_fatal(overlay):
    """dmesg.txt with only an application Xid (13) for the real GPU."""
    overlay("dmesg.txt", "[ 4242.1] NVRM: Xid (PCI:0000:00:06): 13, pid=4242, name=python, Graphics Exception\n")
    check = evaluate(replay(overlay), {}, "nvidia-smi")["checks"]["xid"]
    assert check["status"] == "pass" and "13" in check["reason"]


@pytest.mark.parametrize(("state", "status"), [("inactive", "fail"), ("active", "pass")])
def test_fabric_manager_on_nvswitch_systems(overlay, state, status):
    """lspci.txt: the real GPU plus an NVSwitch (class 0680); systemctl answers for the service."""
    overlay("lspci.txt", REAL_GPU_LSPCI + "0000:05:00.0 0680: 10de:22a3 (rev a1)\n")
    overlay("systemctl-is-active-nvidia-fabricmanager.txt", f"{state}\n")
    check = evaluate(replay(overlay), {}, "nvidia-smi")["checks"]["fabric_manager"]
    assert check["status"] == status, check


def test_fabric_state_from_nvml_fails_while_the_service_is_active(overlay):
    """The GPU Operator's blind spot: nvidia-fabricmanager active, the GPU's fabric registration not
    complete. lspci.txt: the real GPU plus an NVSwitch; nvml.json (real) with its fabric read (which
    failed on the captured host: a pynvml call without its structure) replaced by what
    nvmlDeviceGetGpuFabricInfoV answers while fabric manager has not registered the GPU
    (NVML_GPU_FABRIC_STATE_IN_PROGRESS = 2, status NVML_SUCCESS)."""
    overlay("lspci.txt", REAL_GPU_LSPCI + "0000:05:00.0 0680: 10de:22a3 (rev a1)\n")
    overlay("systemctl-is-active-nvidia-fabricmanager.txt", "active\n")
    snap = json.loads(real("nvml.json"))
    assert "error" in snap["devices"][0]["fabric"]  # the real capture has no fabric evidence
    snap["devices"][0]["fabric"] = {"state": 2, "status": 0}
    overlay("nvml.json", json.dumps(snap))
    check = evaluate(replay(overlay), {}, "nvml")["checks"]["fabric_manager"]
    assert check["status"] == "fail", check
    assert check["reason"] == "GPU fabric registration not complete: ['In Progress/Success']"
    snap["devices"][0]["fabric"] = {"state": 3, "status": 0}  # NVML_GPU_FABRIC_STATE_COMPLETED
    overlay("nvml.json", json.dumps(snap))
    assert evaluate(replay(overlay), {}, "nvml")["checks"]["fabric_manager"]["status"] == "pass"


def test_fabric_state_from_nvml_without_nvswitch_on_pci(overlay):
    """An NVLink domain whose switches are not on this host's PCI (NVL72 trays): NVML's fabric state
    is the only evidence. nvml.json (real) with fabric state NOT_STARTED (1) and an NVML error status."""
    overlay("lspci.txt", REAL_GPU_LSPCI)
    snap = json.loads(real("nvml.json"))
    snap["devices"][0]["fabric"] = {"state": 1, "status": 3}
    overlay("nvml.json", json.dumps(snap))
    check = evaluate(replay(overlay), {}, "nvml")["checks"]["fabric_manager"]
    assert check["reason"] == "GPU fabric registration not complete: ['Not Started/NVML error 3']"
    snap["devices"][0]["fabric"] = {"state": 0, "status": 0}  # NOT_SUPPORTED: no fabric, nothing to register
    overlay("nvml.json", json.dumps(snap))
    assert evaluate(replay(overlay), {}, "nvml")["checks"]["fabric_manager"]["status"] == "pass"


def test_missing_nvidia_uvm_device_node_fails(overlay):
    """dev-nvidia.txt (REAL_DEV_NODES, from the real capture's minor number) without the uvm nodes:
    nvidia-smi answers and the GPU checks pass, CUDA would not initialize."""
    overlay("dev-nvidia.txt", REAL_DEV_NODES)
    res = evaluate(replay(overlay), {"gpu_count": 1}, "nvidia-smi")
    assert res["checks"]["nvidia_uvm"]["status"] == "pass"
    assert res["checks"]["nvidia_uvm"]["reason"] == "/dev/nvidia-uvm present"
    overlay("dev-nvidia.txt", "/dev/nvidia0\n/dev/nvidiactl\n")
    res = evaluate(replay(overlay), {"gpu_count": 1}, "nvidia-smi")
    assert not res["ready"]
    assert res["failures"] == ["host: nvidia_uvm: /dev/nvidia-uvm missing: CUDA cannot initialize (load nvidia-uvm "
                               "and create its device nodes)"]
    # not captured at all: no evidence, not a failure
    assert evaluate(replay(), {}, "nvidia-smi")["checks"]["nvidia_uvm"]["status"] == "no_evidence"


def test_bus_key_normalizes_every_spelling():
    assert parse.bus_key("00000000:00:06.0") == parse.bus_key("0000:00:06.0") == parse.bus_key("PCI:0000:00:06") \
        == "0000:00:06"


def test_proc_version_parsing():
    """driver-version.txt (real) and an older driver's wording."""
    assert parse.parse_proc_version(parse.parse_capture(real("driver-version.txt")).out) == "580.159.04"
    older = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 "
    assert parse.parse_proc_version(older) == "535.104.05"


def test_wait_polls_until_ready():
    """until_ready() with a fake clock: not ready twice, then ready."""
    answers = iter([{"ready": False}, {"ready": False}, {"ready": True}])
    now = [0.0]
    res = until_ready(lambda: next(answers), True, 60, 5, clock=lambda: now[0],
                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert res["ready"] and res["attempts"] == 3 and res["elapsed"] == 10.0
    answers = iter([{"ready": False}] * 100)
    now[0] = 0.0
    res = until_ready(lambda: next(answers), True, 12, 5, clock=lambda: now[0],
                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not res["ready"] and res["attempts"] == 3


def test_module_runs_in_replay_and_names_the_failure(overlay):
    """The module end to end (ansible ad hoc) on query-gpu-noheader-nounits.csv (real) with persistence off."""
    overlay("query-gpu-noheader-nounits.csv", nounits_row_with(persistence_mode="Disabled"))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    args = f"mode=host source=nvidia-smi gpu_count=1 replay_dir={overlay.dir},{FIXTURE}"
    res = subprocess.run([str(ROOT / ".venv/bin/ansible"), "localhost", "-m", "agentic.platform.gpu_readiness",
                          "-a", args, "--check"], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert res.returncode != 0
    want = "GPU host not ready: gpu0 (00000000:00:06.0): persistence_mode: persistence mode off"
    assert want in res.stdout + res.stderr
    ok = subprocess.run([str(ROOT / ".venv/bin/ansible"), "localhost", "-m", "agentic.platform.gpu_readiness",
                         "-a", f"mode=host gpu_count=1 replay_dir={FIXTURE}", "--check"],
                        capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "changed: false" in ok.stdout or '"changed": false' in ok.stdout


GPU_HOSTS_INVENTORY = """
gpu_hosts:
  hosts:
    replayed-h200:
      ansible_connection: local
      ansible_become: false
      ansible_python_interpreter: {python}
"""


@pytest.mark.parametrize("degraded", [False, True])
def test_gpu_hosts_playbook_gates_on_host_mode(overlay, tmp_path, degraded):
    """playbooks/gpu_hosts.yml (no install) on the real capture (source auto: nvml.json first);
    degraded: nvml.json (real) with a pending row remap."""
    if degraded:
        snap = json.loads(real("nvml.json"))
        snap["devices"][0]["remapped_rows"] = [0, 1, 1, 0]
        overlay("nvml.json", json.dumps(snap))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(GPU_HOSTS_INVENTORY.format(python=ROOT / ".venv/bin/python"))
    extra = json.dumps({"gpu_hosts_expected_gpus": 1, "gpu_hosts_expected_product": "NVIDIA H200",
                        "gpu_hosts_driver_version": "580.159.04", "gpu_hosts_pcie_gen": 5, "gpu_hosts_pcie_width": 16,
                        "gpu_hosts_check_timeout": 1,
                        "gpu_hosts_replay_dir": [str(overlay.dir), str(FIXTURE)]})
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    res = subprocess.run([str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(inventory), "playbooks/gpu_hosts.yml",
                          "-e", extra], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    out = res.stdout + res.stderr
    if degraded:
        assert res.returncode != 0
        assert "GPU host not ready: gpu0 (GPU-ce4ea6c2-105e-9300-a629-eefab5149069): row_remap: row remapping pending" \
            in out
    else:
        assert res.returncode == 0, out[-3000:]
        assert "failed=0" in out


def test_driver_answering_is_evidence_when_proc_was_not_captured(tmp_path):
    """Only the real nvidia-smi captures (query-gpu*.csv, query-remapped-rows.csv, nvidia-smi-q.xml),
    no driver-version.txt: the driver answering nvidia-smi is the evidence that it is loaded."""
    for name in ("query-gpu.csv", "query-gpu-noheader-nounits.csv", "query-remapped-rows.csv", "nvidia-smi-q.xml"):
        (tmp_path / name).write_text(real(name))
    res = evaluate(ReplayReader(tmp_path), {"gpu_count": 1}, "nvidia-smi")
    assert res["checks"]["driver_loaded"] == {"status": "pass", "reason": "the driver answered nvidia-smi (580.159.04)"}
    assert res["checks"]["driver_library_match"]["status"] == "no_evidence"
    assert res["ready"] is True


def test_module_payload_carries_no_cluster_client(tmp_path):
    """What Ansible ships to a GPU host for the module (the AnsiballZ payload, kept with
    ANSIBLE_KEEP_REMOTE_FILES) holds the host-mode code only, not the Kubernetes client."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_KEEP_REMOTE_FILES": "1",
           "ANSIBLE_REMOTE_TMP": str(tmp_path)}
    res = subprocess.run([str(ROOT / ".venv/bin/ansible"), "localhost", "-m", "agentic.platform.gpu_readiness",
                          "-a", f"mode=host gpu_count=1 replay_dir={FIXTURE}"],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    (wrapper,) = tmp_path.glob("*/AnsiballZ_gpu_readiness.py")
    payload = re.search(r"^zip_data='([A-Za-z0-9+/=]+)'", wrapper.read_text(), re.M).group(1)
    shipped = {Path(n).name for n in zipfile.ZipFile(io.BytesIO(base64.b64decode(payload))).namelist()
               if "/agentic/platform/plugins/module_utils/" in n}
    assert {"gpu_host_check.py", "gpu_host_read.py", "gpu_readiness_run.py"} <= shipped
    assert not shipped & {"kube_client.py", "gpu_cluster.py", "kube_apply.py"}, sorted(shipped)
