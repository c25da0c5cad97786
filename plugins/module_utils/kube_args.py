"""Argument specs of the in-controller Kubernetes actions (documented in the kube_auth fragment).

Only data: gpu_readiness's module imports it, and a module ships everything its module_utils
import (the client is opened by plugin_utils/controller_action.py)."""

from __future__ import annotations

AUTH_ARG_SPEC = {
    "kubeconfig": {"type": "path"},
    "context": {"type": "str"},
    "host": {"type": "str"},
    "api_key": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"]},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"]},
}

APPLY_ARG_SPEC = {
    **AUTH_ARG_SPEC,
    "objects": {"type": "list", "elements": "dict", "required": True},
    "namespace": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "field_manager": {"type": "str", "default": "agentic.platform"},
    "force_conflicts": {"type": "bool", "default": True},
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 300},
    "prune": {"type": "dict", "options": {"api_version": {"type": "str", "default": "v1"},
                                          "kind": {"type": "str", "required": True},
                                          "label_selector": {"type": "str", "required": True},
                                          "keep": {"type": "int", "default": 0}}},
    "released_fields": {"type": "list", "elements": "dict", "options": {
        "kind": {"type": "str", "required": True},
        "name": {"type": "str"},
        "path": {"type": "str", "required": True},
        "manager": {"type": "str", "required": True}}},
    "wait_condition": {"type": "dict", "options": {"type": {"type": "str", "required": True},
                                                   "status": {"type": "str", "default": "True",
                                                              "choices": ["True", "False", "Unknown"]}}},
}

READ_ARG_SPEC = {
    **AUTH_ARG_SPEC,
    "api_version": {"type": "str", "default": "v1"},
    "kind": {"type": "str", "required": True},
    "name": {"type": "str"},
    "namespace": {"type": "str"},
    "label_selector": {"type": "str", "default": ""},
    "secret_data": {"type": "bool", "default": False},
}
