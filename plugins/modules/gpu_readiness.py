#!/usr/bin/python
# Copyright: agentic.platform developers
# Apache License 2.0
"""Ansible module: is this GPU host, or this GPU node pool, really ready? Read-only.

The module itself runs the host mode only; the action plugin runs the cluster mode in the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_readiness
short_description: Check that a GPU host or a Kubernetes GPU node pool is really ready (read-only)
version_added: "0.1.0"
description:
  - Returns a structured verdict, per check C(pass), C(fail) or C(no_evidence) with a reason, and fails
    (unless I(fail_on_not_ready=false)) with a message naming the failing node or GPU and check.
    Evidence that cannot be read (C([N/A]), C([Not Supported]), a missing tool) is C(no_evidence),
    which is not a failure unless I(strict=true).
  - I(mode=host) runs on a GPU host. It reads NVML through C(pynvml) (nvidia-ml-py) when it is importable
    and a driver answers, and C(nvidia-smi) (C(--query-gpu), C(-q -x), C(--query-remapped-rows))
    otherwise, plus C(/sys/module/nvidia/version), C(/proc/driver/nvidia/version), C(/sys/bus/pci) (or
    C(lspci -Dn)), the kernel log (C(journalctl -k -b), C(dmesg) or C(/dev/kmsg)) and, on NVSwitch
    systems, the C(nvidia-fabricmanager) service. Host checks are C(driver_loaded),
    C(driver_library_match) (the "Driver/library version mismatch" case), C(driver_version),
    C(gpu_count) (driver vs PCI vs I(gpu_count); it fails when the driver shows no GPU or cannot be
    asked at all, even without I(gpu_count)), C(evidence) (output that cannot be read, such as text that is
    not CSV or XML, or counts that disagree), C(xid) (fatal Xids since boot), C(nvidia_uvm) (C(/dev/nvidia-uvm)
    present, without which nvidia-smi answers and CUDA does not initialize) and C(fabric_manager) (on
    NVSwitch systems the service active, and every GPU's fabric registration complete as NVML's
    fabric info or nvidia-smi report it, wherever they report one); per GPU
    C(evidence) (readings no board reports, such as a temperature above 200 or C(NaN), fail and are not
    judged further), C(product), C(persistence_mode), C(ecc_mode), C(ecc_errors), C(row_remap),
    C(mig_mode) and C(pcie_link). Only nvidia-smi's standard output is parsed; its standard error goes
    into messages. Field names renamed by newer drivers (C(clocks_throttle_reasons.*) to
    C(clocks_event_reasons.*)) are understood under both names.
  - I(mode=cluster) reads the Kubernetes API with two lists whatever the pool size (the nodes
    matching I(label_selector), the device-plugin pods matching I(device_plugin_selector)), paged
    500 objects a page and judged a page at a time, never one call per node. Per node C(ready),
    C(gpu_capacity) (capacity == I(gpus_per_node)),
    C(device_plugin_health) (allocatable below capacity, GPUs the device plugin found unhealthy),
    C(mig_config) (a C(nvidia.com/mig.config.state) label other than C(success)), C(driver_upgrade)
    (C(nvidia.com/gpu-driver-upgrade-state=upgrade-failed)), C(gpu_fault) (a NoSchedule/NoExecute
    taint whose key names GPUs, nvidia or accelerators and the pool does not expect, or such a node
    condition in its bad state, a C(...Ready)/C(...Healthy) condition not True, any other one True),
    C(labels), C(taints) and C(device_plugin) (a Ready device-plugin pod on the node); for the pool
    C(pool_size) and, with I(smoke_test=true), C(smoke).
  - I(mode=cluster) runs in the controller (action plugin, no Python dependency); I(mode=host) runs
    the module on the host.
  - The module never changes anything it checks, so C(changed) is always false. The optional smoke Job
    (I(smoke_test=true)) is created, waited for and deleted within the same call; it is not created in
    check mode.
author:
  - agentic.platform developers (@agentic)
extends_documentation_fragment:
  - agentic.platform.kube_auth
options:
  mode:
    description: C(host) checks the machine the module runs on; C(cluster) checks a node pool through the API.
    type: str
    required: true
    choices: [host, cluster]
  wait:
    description: Poll until ready or until I(timeout).
    type: bool
    default: false
  timeout:
    description: Seconds to wait when I(wait=true); also bounds the smoke Job.
    type: int
    default: 300
  interval:
    description: Seconds between polls.
    type: int
    default: 5
  strict:
    description: Count C(no_evidence) as not ready.
    type: bool
    default: false
  fail_on_not_ready:
    description: Fail the task when the verdict is not ready. With C(false) the verdict is only returned.
    type: bool
    default: true
  gpu_count:
    description: I(mode=host) - GPUs the host must have (compared with what the driver and PCI show).
    type: int
  product:
    description: I(mode=host) - expected product name, for example C(NVIDIA H200) (spaces and dashes are equal).
    type: str
  driver_version:
    description: I(mode=host) - pinned driver version; C(580) pins a branch, C(580.159.04) a release.
    type: str
  persistence_mode:
    description: I(mode=host) - persistence mode every GPU must have.
    type: bool
    default: true
  ecc_mode:
    description: I(mode=host) - ECC mode every GPU must have.
    type: str
    choices: [enabled, disabled, any]
    default: enabled
  mig_mode:
    description: I(mode=host) - MIG mode every GPU must have (C(any) does not check it).
    type: str
    choices: [enabled, disabled, any]
    default: any
  pcie_gen:
    description: I(mode=host) - minimum PCIe generation of each GPU's link (its maximum, since idle GPUs downshift).
    type: int
  pcie_width:
    description: I(mode=host) - minimum PCIe link width; a link below its own maximum width always fails.
    type: int
  fatal_xids:
    description: I(mode=host) - Xids that fail the host. Default 48, 61, 62, 64, 74, 79, 95, 119, 120, 140.
    type: list
    elements: int
  source:
    description: I(mode=host) - C(auto) uses NVML when it answers and C(nvidia-smi) otherwise.
    type: str
    choices: [auto, nvml, nvidia-smi]
    default: auto
  replay_dir:
    description:
      - I(mode=host) - read captured output from these directories (first match wins) instead of the host,
        in the layout of the collection's GPU fixtures. For tests and demonstrations.
    type: list
    elements: path
  label_selector:
    description: I(mode=cluster) - label selector of the pool's nodes, for example C(node-pool=gpu). Required.
    type: str
  expected_nodes:
    description: I(mode=cluster) - the pool must have at least this many nodes.
    type: int
  gpus_per_node:
    description: I(mode=cluster) - the GPU count every node must advertise (capacity and allocatable).
    type: int
  gpu_resource:
    description: I(mode=cluster) - the extended resource name of a GPU.
    type: str
    default: nvidia.com/gpu
  dra_driver:
    description:
      - I(mode=cluster) - the GPUs are allocated through DRA by this driver (for example C(gpu.nvidia.com)), not
        through I(gpu_resource). Per node C(dra_devices) counts the devices the driver publishes in
        ResourceSlices (one more paged list) against I(gpus_per_node), in place of C(gpu_capacity) and
        C(device_plugin_health).
    type: str
  expected_labels:
    description: I(mode=cluster) - labels every node must carry.
    type: dict
    default: {}
  expected_taints:
    description: I(mode=cluster) - taints every node must carry (C(key), C(value), C(effect)).
    type: list
    elements: dict
    default: []
  device_plugin_namespace:
    description: I(mode=cluster) - namespace of the device-plugin pods.
    type: str
    default: kube-system
  device_plugin_selector:
    description: I(mode=cluster) - label selector of the device-plugin pods; empty skips the C(device_plugin) check.
    type: str
    default: app.kubernetes.io/name=nvidia-device-plugin
  smoke_test:
    description: I(mode=cluster) - also run a Job requesting one GPU on the pool; it must succeed.
    type: bool
    default: false
  smoke_namespace:
    description: I(mode=cluster) - namespace of the smoke Job.
    type: str
    default: kube-system
  smoke_image:
    description: I(mode=cluster) - image of the smoke Job.
    type: str
    default: nvcr.io/nvidia/cuda:12.8.1-base-ubuntu24.04
  smoke_command:
    description: I(mode=cluster) - command of the smoke Job's container.
    type: list
    elements: str
    default: [nvidia-smi, -L]
  smoke_runtime_class:
    description: I(mode=cluster) - RuntimeClass of the smoke pod; empty uses the node's default runtime.
    type: str
    default: ""
notes:
  - Check mode is fully supported; nothing is ever written, and the smoke Job is skipped (C(no_evidence)).
requirements:
  - "mode=host: nvidia-ml-py (optional; nvidia-smi is used without it)"
"""

EXAMPLES = r"""
- name: Gate on the GPU pool before deploying workloads
  agentic.platform.gpu_readiness:
    mode: cluster
    label_selector: node-pool=gpu
    expected_nodes: 2
    gpus_per_node: 8
    expected_labels:
      nvidia.com/gpu.present: "true"
    expected_taints:
      - key: nvidia.com/gpu
        value: present
        effect: NoSchedule
    wait: true
    timeout: 600

- name: Check this GPU host
  agentic.platform.gpu_readiness:
    mode: host
    gpu_count: 8
    product: NVIDIA H200
    driver_version: "580.159.04"
    mig_mode: disabled
    pcie_gen: 5
    pcie_width: 16
  register: gpu

- name: Replay captured output (tests, demonstrations)
  agentic.platform.gpu_readiness:
    mode: host
    replay_dir: [/work/shared/fixtures/gpu/h200-driver-580.159.04]
    fail_on_not_ready: false
"""

RETURN = r"""
ready:
  description: The overall verdict.
  returned: always
  type: bool
mode:
  description: C(host) or C(cluster).
  returned: always
  type: str
counts:
  description: How many checks passed, failed or had no evidence.
  returned: always
  type: dict
  sample: {"pass": 11, "fail": 0, "no_evidence": 2}
failures:
  description: "Every failing check as C(<scope>: <check>: <reason>), scope being host, gpuN, node NAME or pool."
  returned: always
  type: list
  elements: str
no_evidence:
  description: Every check without evidence, in the same form.
  returned: always
  type: list
  elements: str
checks:
  description: I(mode=host) - host-wide checks, each C({status, reason, observed}).
  returned: mode=host
  type: dict
gpus:
  description: I(mode=host) - per GPU its index, uuid, name, bus_id and checks.
  returned: mode=host
  type: list
  elements: dict
source:
  description: I(mode=host) - where the per-GPU evidence came from (C(nvml), C(nvidia-smi) or null).
  returned: mode=host
  type: str
driver:
  description: I(mode=host) - kernel module and user-space driver versions.
  returned: mode=host
  type: dict
pci_gpu_count:
  description: I(mode=host) - NVIDIA GPUs on PCI (null when PCI could not be read).
  returned: mode=host
  type: int
pci_nvswitch_count:
  description: I(mode=host) - NVSwitch devices on PCI (null when PCI could not be read).
  returned: mode=host
  type: int
gpu_count:
  description: I(mode=host) - GPUs the driver sees (null when it could not be asked).
  returned: mode=host
  type: int
nodes:
  description: I(mode=cluster) - per node name its checks.
  returned: mode=cluster
  type: dict
pool:
  description: I(mode=cluster) - pool-wide checks (pool_size, smoke).
  returned: mode=cluster
  type: dict
node_count:
  description: I(mode=cluster) - nodes matching the selector.
  returned: mode=cluster
  type: int
requests:
  description: I(mode=cluster) - API requests made (two per poll, plus the smoke Job's).
  returned: mode=cluster
  type: int
attempts:
  description: Evaluations made while waiting.
  returned: always
  type: int
elapsed:
  description: Seconds spent evaluating and waiting.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agentic.platform.plugins.module_utils import gpu_readiness_run


def main():
    module = AnsibleModule(argument_spec=gpu_readiness_run.ARG_SPEC, supports_check_mode=True)
    p = module.params
    problem = gpu_readiness_run.problem(p)
    if problem:
        module.fail_json(msg=problem)
    result, failure = gpu_readiness_run.run(p)
    if failure:
        module.fail_json(msg=failure, changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
