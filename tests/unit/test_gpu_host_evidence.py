"""The host verdict fails closed: no GPU evidence, output that cannot be read, and readings no
board reports are never "ready", and never a traceback.

Every case starts from the REAL capture (shared/fixtures/gpu/h200-driver-580.159.04) and damages
one real file: truncated at several points, bytes overwritten at several points (seeded, so a
failure reproduces), or one value replaced by an absurd one. lspci.txt, dmesg.txt and dev-nvidia.txt are
written from facts of the real files (as in test_gpu_host.py) so that the intact capture is ready even
with strict=true, and any damage that reaches a check shows.
"""

from __future__ import annotations

import json
import os
import random
import stat

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_check import evaluate
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_parse import QUERY_FIELDS
from ansible_collections.agentic.platform.plugins.module_utils.gpu_host_read import ReplayReader, SystemReader
from test_gpu_host import FIXTURE, REAL_DEV_NODES, REAL_GPU_LSPCI, real

# From nvidia-smi-q.xml: the GPU at 00000000:00:06.0; a boot without NVRM Xid lines.
CLEAN_DMESG = "[    2.1] nvidia: loading out-of-tree module taints kernel.\n"
EXPECT = {"gpu_count": 1, "product": "NVIDIA H200", "driver_version": "580.159.04", "pcie_gen": 5,
          "pcie_width": 16}
# (source, file) pairs: what each source parses of the capture.
PARSED = [("nvidia-smi", "query-gpu-noheader-nounits.csv"), ("nvidia-smi", "nvidia-smi-q.xml"),
          ("nvidia-smi", "query-remapped-rows.csv"), ("nvidia-smi", "driver-version.txt"),
          ("nvml", "nvml.json"), ("nvml", "driver-version.txt")]
# Files whose every byte is structure or a judged value: any cut must be caught.
STRUCTURED = {"query-gpu-noheader-nounits.csv", "nvidia-smi-q.xml", "query-remapped-rows.csv", "nvml.json"}
RANK = {"fail": 0, "no_evidence": 1, "pass": 2}


@pytest.fixture
def host(tmp_path):
    """A directory searched before the real capture, with the PCI listing and kernel log."""
    (tmp_path / "lspci.txt").write_text(REAL_GPU_LSPCI)
    (tmp_path / "dmesg.txt").write_text(CLEAN_DMESG)
    (tmp_path / "dev-nvidia.txt").write_text(REAL_DEV_NODES)
    return tmp_path


def verdict(overlay, source, strict=False):
    return evaluate(ReplayReader(overlay, FIXTURE), EXPECT, source, strict)


def statuses(res: dict) -> dict:
    out = {f"host: {k}": c["status"] for k, c in res["checks"].items()}
    for g in res["gpus"]:
        out.update({f"gpu{g['index']}: {k}": c["status"] for k, c in g["checks"].items()})
    return out


def body_span(name: str, text: str) -> tuple[int, int]:
    """Where the tool's output is: after a CSV header or a capture's '$ command' line, before a
    trailing '[rc=N]' line and the final newline."""
    start = text.index("\n") + 1 if name in ("query-remapped-rows.csv", "driver-version.txt") else 0
    end = text.rindex("[rc=") if "[rc=" in text else len(text.rstrip())
    return start, end


def assert_never_more_ready(intact: dict, damaged: dict, what: str) -> None:
    """No check improves; and whatever changed makes the strict verdict not ready."""
    before, after = statuses(intact), statuses(damaged)
    improved = [k for k in before if k in after and RANK[after[k]] > RANK[before[k]]]
    assert not improved, f"{what}: damage turned {improved} into pass"
    if after != before:
        changed = {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert damaged["counts"]["fail"] or damaged["counts"]["no_evidence"], (what, changed)


@pytest.mark.parametrize(("source", "name"), PARSED)
def test_intact_capture_is_ready_even_strict(host, source, name):
    res = verdict(host, source, strict=True)
    assert res["ready"] is True, res["failures"] + res["no_evidence"]
    assert res["checks"]["evidence"]["status"] == "pass"


@pytest.mark.parametrize(("source", "name"), PARSED)
@pytest.mark.parametrize("fraction", [0.02, 0.2, 0.45, 0.7, 0.9, 0.99])
def test_truncated_output_is_never_ready(host, source, name, fraction):
    """A real file cut short (the tool killed, a full disk, a lost connection)."""
    intact = verdict(host, source, strict=True)
    text = real(name)
    start, end = body_span(name, text)
    cut = start + int((end - start) * fraction)
    (host / name).write_text(text[:cut])
    for strict in (False, True):
        damaged = verdict(host, source, strict)  # no exception, whatever the cut
        assert_never_more_ready(intact, damaged, f"{name}[:{cut}]")
    if name in STRUCTURED:
        assert damaged["ready"] is False and verdict(host, source)["ready"] is False, \
            f"{name} cut at {cut} of {len(text)} read as ready"
        assert damaged["failures"], damaged


@pytest.mark.parametrize(("source", "name"), PARSED)
@pytest.mark.parametrize("seed", range(8))
def test_overwritten_bytes_never_make_a_host_more_ready(host, source, name, seed):
    """A real file with a few bytes overwritten by garbage (also bytes that are not UTF-8) at a
    seeded random point of the tool's output."""
    rng = random.Random(f"{name}-{seed}")
    data = real(name).encode()
    start, end = body_span(name, real(name))
    at = rng.randrange(start, end)
    junk = bytes(rng.choice(b"#~?%&\x00\xff\xfe,<{\"'") for _i in range(rng.randint(1, 4)))
    intact = verdict(host, source, strict=True)
    (host / name).write_bytes(data[:at] + junk + data[at + len(junk):])
    for strict in (False, True):
        assert_never_more_ready(intact, verdict(host, source, strict), f"{name} @{at} {junk!r}")


def nounits_row_with(field: str, val: str) -> str:
    row = [v.strip() for v in real("query-gpu-noheader-nounits.csv").strip().split(",")]
    row[QUERY_FIELDS.index(field)] = val
    return ", ".join(row) + "\n"


@pytest.mark.parametrize(("field", "val"), [
    ("temperature.gpu", "500"), ("temperature.gpu", "-40"), ("power.draw", "NaN"), ("power.draw", "inf"),
    ("memory.total", "-143771"), ("utilization.gpu", "250"), ("ecc.errors.uncorrected.volatile.total", "-1"),
    ("ecc.errors.uncorrected.volatile.total", "nan"), ("pcie.link.width.current", "64"),
    ("pcie.link.gen.current", "0"), ("index", "-3"), ("persistence_mode", "Enabl"),
])
def test_absurd_reading_fails_naming_it(host, field, val):
    """query-gpu-noheader-nounits.csv (real) with one value no board prints."""
    (host / "query-gpu-noheader-nounits.csv").write_text(nounits_row_with(field, val))
    res = verdict(host, "nvidia-smi")
    assert res["ready"] is False
    (gpu,) = res["gpus"]
    assert gpu["checks"]["evidence"]["status"] == "fail"
    assert val.lower() in gpu["checks"]["evidence"]["reason"].lower()


@pytest.mark.parametrize("count", ["65", "0", "2", "x"])
def test_gpu_count_that_disagrees_with_the_rows_is_malformed(host, count):
    """query-gpu-noheader-nounits.csv (real, one row) claiming another count."""
    (host / "query-gpu-noheader-nounits.csv").write_text(nounits_row_with("count", count))
    res = verdict(host, "nvidia-smi")
    assert res["ready"] is False
    assert res["checks"]["evidence"]["status"] == "fail"
    assert "lists 1 GPUs but counts" in res["checks"]["evidence"]["reason"]
    assert res["checks"]["gpu_count"]["status"] == "fail"


def test_nvml_absurd_values(host):
    """nvml.json (real) with a temperature of 9999 and a PCIe generation of -1."""
    snap = json.loads(real("nvml.json"))
    snap["devices"][0].update(temperature=9999, pcie_gen=-1)
    (host / "nvml.json").write_text(json.dumps(snap))
    res = verdict(host, "nvml")
    reason = res["gpus"][0]["checks"]["evidence"]["reason"]
    assert res["ready"] is False and "temperature 9999 outside" in reason and "pcie_gen_current -1" in reason


@pytest.mark.parametrize("devices", [[], [{}] * 65])
def test_driver_that_sees_no_gpu_or_too_many_is_not_ready(host, devices):
    """nvml.json (real) listing no GPU, or 65."""
    snap = json.loads(real("nvml.json"))
    snap.update(count=len(devices), devices=devices)
    (host / "nvml.json").write_text(json.dumps(snap))
    res = evaluate(ReplayReader(host, FIXTURE), {}, "nvml")  # no expected count
    assert res["ready"] is False
    assert res["checks"]["gpu_count"]["status"] == "fail"


@pytest.mark.parametrize("source", ["auto", "nvml", "nvidia-smi"])
def test_no_gpu_evidence_at_all_is_not_ready(tmp_path, source):
    """Nothing captured: no NVML, no nvidia-smi, no procfs. No expected count either."""
    res = evaluate(ReplayReader(tmp_path), {}, source)
    assert res["ready"] is False
    check = res["checks"]["gpu_count"]
    assert check["status"] == "fail" and "no GPU evidence" in check["reason"], check


def test_this_machine_without_gpus_is_not_ready():
    """The live reader on this machine (no NVIDIA driver, no nvidia-smi, no pynvml)."""
    res = evaluate(SystemReader(timeout=20), {})
    assert res["ready"] is False
    assert res["checks"]["gpu_count"]["status"] == "fail"


def test_stderr_is_not_parsed_as_output(tmp_path, monkeypatch):
    """A real process on PATH named nvidia-smi that prints the real captures on stdout and a
    warning on stderr, as nvidia-smi does with a corrupt infoROM."""
    script = tmp_path / "nvidia-smi"
    script.write_text(f"""#!/bin/sh
echo "WARNING: infoROM is corrupted at gpu 0000:00:06.0" >&2
case "$1" in
  --query-gpu=*) cat {FIXTURE}/query-gpu-noheader-nounits.csv ;;
  --query-remapped-rows=*) cat {FIXTURE}/query-remapped-rows.csv ;;
  -q) cat {FIXTURE}/nvidia-smi-q.xml ;;
  *) exit 2 ;;
esac
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    res = evaluate(SystemReader(timeout=20), {"gpu_count": 1}, "nvidia-smi")
    assert res["source"] == "nvidia-smi"
    assert res["gpu_count"] == 1
    assert res["checks"]["evidence"]["status"] == "pass", res["checks"]["evidence"]
    assert {c["status"] for c in res["gpus"][0]["checks"].values()} == {"pass"}
