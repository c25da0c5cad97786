"""Action agent_release: one region's canary release, judged by Prometheus, promoted or rolled back."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import ApplyError
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import AUTH_ARG_SPEC
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeError
from ansible_collections.agentic.platform.plugins.module_utils.release.analysis import CHECKS, Limits, PrometheusSource
from ansible_collections.agentic.platform.plugins.module_utils.release.engine import (
    Release,
    ReleaseError,
    ReleaseFailed,
    ReleaseSpec,
)
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import (
    ControllerAction,
    client_from_args,
)

ARG_SPEC = {
    **AUTH_ARG_SPEC,
    "namespace": {"type": "str", "required": True},
    "region": {"type": "str", "default": ""},
    "service": {"type": "str", "default": "mcp-agent"},
    "container": {"type": "str", "default": "mcp-agent"},
    "version": {"type": "str", "required": True},
    "image": {"type": "str", "required": True},
    "model_version": {"type": "str", "default": ""},
    "config_snapshot": {"type": "str", "default": ""},
    "steps": {"type": "list", "elements": "int", "default": [5, 25, 50, 100]},
    "interval": {"type": "int", "default": 60},
    "max_inconclusive": {"type": "int", "default": 3},
    "canary_replicas": {"type": "int", "default": 1},
    "ab_header": {"type": "str", "default": "x-agentic-canary"},
    "prometheus_url": {"type": "str", "required": True},
    "checks": {"type": "list", "elements": "str", "default": list(CHECKS), "choices": list(CHECKS)},
    "min_requests": {"type": "int", "default": 50},
    "min_success_ratio": {"type": "float", "default": 0.99},
    "max_success_drop": {"type": "float", "default": 0.01},
    "max_request_p95": {"type": "float", "default": 2.0},
    "max_mcp_tool_p95": {"type": "float", "default": 10.0},
    "max_latency_ratio": {"type": "float", "default": 1.5},
    "labels": {"type": "dict", "default": {}},
    "field_manager": {"type": "str", "default": "agentic.platform"},
    "audit_log": {"type": "str", "default": ""},
    "wait_timeout": {"type": "int", "default": 300},
}


def spec_of(args: dict) -> ReleaseSpec:
    limits = Limits(checks=tuple(args["checks"]), min_requests=args["min_requests"],
                    min_success_ratio=args["min_success_ratio"], max_success_drop=args["max_success_drop"],
                    max_request_p95=args["max_request_p95"], max_mcp_tool_p95=args["max_mcp_tool_p95"],
                    max_latency_ratio=args["max_latency_ratio"])
    return ReleaseSpec(namespace=args["namespace"], region=args["region"], service=args["service"],
                       container=args["container"], version=args["version"], image=args["image"],
                       model_version=args["model_version"], config_snapshot=args["config_snapshot"],
                       steps=tuple(args["steps"]), interval_s=args["interval"],
                       max_inconclusive=args["max_inconclusive"], canary_replicas=args["canary_replicas"],
                       ab_header=args["ab_header"], labels=args["labels"], field_manager=args["field_manager"],
                       audit_log=args["audit_log"], wait_timeout=args["wait_timeout"], limits=limits)


class ActionModule(ControllerAction):
    ARG_SPEC = ARG_SPEC

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=self.ARG_SPEC)[1]
        spec = spec_of(args)
        source = PrometheusSource(args["prometheus_url"], spec.namespace, spec.service)
        try:
            client = client_from_args(args)
            try:
                result.update(Release(client, spec, source, check_mode=bool(self._task.check_mode)).run())
            finally:
                client.close()
        except ReleaseFailed as exc:
            result.update(exc.result, failed=True, msg=str(exc))
        except (ReleaseError, ApplyError, KubeError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        return result
