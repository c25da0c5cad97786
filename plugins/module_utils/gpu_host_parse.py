"""GPU host evidence, parsed: what nvidia-smi, NVML, procfs, PCI and the kernel log print,
turned into values.

Parsing copes with what real drivers do: fields renamed between releases
(``clocks_throttle_reasons.*`` became ``clocks_event_reasons.*``), values with or without
units, and ``[N/A]`` / ``[Not Supported]``, which mean "no evidence", never "failure".
"""

from __future__ import annotations

import csv
import io
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

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

_XID = re.compile(r"NVRM: Xid \(PCI:([0-9a-fA-F:.]+)\): (\d+)(?:, ([^\n]*))?")
_NVRM_VERSION = re.compile(r"NVRM version:.*?\s(\d+\.\d+(?:\.\d+)?)\s")


@dataclass
class Probe:
    """A file read: present True/False, or None when it is not known (e.g. not captured)."""
    present: bool | None
    text: str = ""


@dataclass
class Cmd:
    """A command run: rc None when the command is not there (or was not captured). ``out`` is
    its stdout, the only stream parsed; ``err`` its stderr, for messages."""
    rc: int | None
    out: str = ""
    err: str = ""

    @property
    def text(self) -> str:
        """stdout and stderr together, for error messages."""
        return self.out + self.err


class Garbled(str):
    """A value that is there but is not what its field holds (truncated, corrupt, not a number):
    never judged by a check, always reported (gpu_host_facts.implausible)."""


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


def as_int(raw) -> int | Garbled | None:
    """An integer (a fraction is cut); None for no value; Garbled for anything else (NaN, 'abc')."""
    if isinstance(raw, bool):
        return Garbled(raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) else Garbled(raw)
    v = value(raw) if isinstance(raw, str) else raw
    if v is None:
        return None
    if not isinstance(v, str):
        return Garbled(v)
    try:
        number = int(v, 16) if v.lower().startswith("0x") else float(v)
    except ValueError:
        return Garbled(v)
    return int(number) if math.isfinite(number) else Garbled(v)


def as_bool(raw) -> bool | Garbled | None:
    """True/False from the words drivers print (or NVML's 0/1); None for no value; Garbled else."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    v = value(raw) if isinstance(raw, str) else raw
    if v is None:
        return None
    if not isinstance(v, str):
        return Garbled(v)
    low = v.lower()
    if low in ("enabled", "yes", "on", "true", "active", "1"):
        return True
    if low in ("disabled", "no", "off", "false", "not active", "0"):
        return False
    return Garbled(v)


def parse_csv(text: str, fields: tuple[str, ...] | list[str] | None = None) -> list[dict]:
    """Rows of `nvidia-smi --query-* --format=csv[,noheader][,nounits]` keyed by canonical name.

    With a header the names come from it (so a renamed field is seen under the name the driver
    answered with, then mapped); without one, from ``fields`` in the order they were asked.
    Raises ValueError when a row does not have a value for every field.
    """
    try:
        rows = [r for r in csv.reader(io.StringIO(text), skipinitialspace=True) if r and any(c.strip() for c in r)]
    except csv.Error as exc:
        raise ValueError(f"not CSV ({exc})") from None
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
            raise ValueError(f"a row has {len(row)} values for {len(names)} fields: {', '.join(row)[:200]!r}")
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
    try:
        domain = int(parts[-3], 16)
    except ValueError:
        return None
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
    """`nvidia-smi -q -x`: driver version and, per GPU (by bus id), what the CSV lacks.
    Raises ValueError when the text is not XML."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - nvidia-smi's own output, no external entities
    except ET.ParseError as exc:
        raise ValueError(f"not valid XML ({exc})") from None

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
                if isinstance(n, Garbled):
                    return n
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


def xids(log: str) -> list[dict]:
    return [{"pci": m.group(1), "xid": int(m.group(2)), "text": (m.group(3) or "").strip()[:120]}
            for m in _XID.finditer(log)]
