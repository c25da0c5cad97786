"""Action gpu_readiness: the cluster mode runs here in the controller (it reads only the
Kubernetes API); the host mode runs the module on the GPU host."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.agentic.platform.plugins.module_utils import gpu_cluster, gpu_readiness_run
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import ApiError, KubeError
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import client_from_args


def cluster_readiness(p: dict, check_mode: bool) -> dict:
    """The pool's verdict, from the module's arguments."""
    spec = {"selector": p["label_selector"], "expected_nodes": p["expected_nodes"],
            "gpus_per_node": p["gpus_per_node"], "resource": p["gpu_resource"],
            "labels": {k: str(v) for k, v in p["expected_labels"].items()}, "taints": p["expected_taints"]}
    if p["dra_driver"]:
        spec["dra"] = {"driver": p["dra_driver"]}
    if p["device_plugin_selector"]:
        spec["device_plugin"] = {"namespace": p["device_plugin_namespace"], "selector": p["device_plugin_selector"]}
    smoke = None
    if p["smoke_test"]:
        smoke = {"namespace": p["smoke_namespace"], "image": p["smoke_image"], "command": p["smoke_command"],
                 "runtime_class": p["smoke_runtime_class"], "timeout": p["timeout"],
                 "interval": min(p["interval"], 2)}
    client = client_from_args(p)
    try:
        return gpu_cluster.readiness(client, spec, smoke, wait=p["wait"], timeout=p["timeout"],
                                     interval=p["interval"], strict=p["strict"], check_mode=check_mode)
    finally:
        client.close()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if self._task.args.get("mode") != "cluster":
            result.update(self._execute_module(module_name="agentic.platform.gpu_readiness",
                                               module_args=self._task.args, task_vars=task_vars))
            return result
        p = self.validate_argument_spec(argument_spec=gpu_readiness_run.ARG_SPEC)[1]
        problem = gpu_readiness_run.problem(p)
        if problem:
            raise AnsibleActionFail(problem)
        try:
            verdict = cluster_readiness(p, check_mode=bool(self._task.check_mode))
        except (ApiError, KubeError, OSError, ValueError) as exc:
            raise AnsibleActionFail(f"gpu_readiness (cluster) could not read its evidence: {exc}") from None
        result.update(changed=False, **verdict)
        failure = gpu_readiness_run.outcome(verdict, f"GPU pool '{p['label_selector']}' not ready", p)
        if failure:
            result.update(failed=True, msg=failure)
        return result
