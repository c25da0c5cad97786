"""Argument specs of the in-controller Kubernetes actions (documented in the kube_auth fragment)."""

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
}


def client_from_args(args: dict):
    from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient
    return KubeClient.from_config(kubeconfig=args.get("kubeconfig"), context=args.get("context"),
                                  host=args.get("host"), api_key=args.get("api_key"),
                                  validate_certs=args.get("validate_certs"), ca_cert=args.get("ca_cert"))
