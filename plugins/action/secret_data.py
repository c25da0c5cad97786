"""Action secret_data: the data of Secret agentic-ai-secrets, decided, generated and assembled in
the controller (one task instead of a read, two decisions and a module run per generated value)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.kube_args import AUTH_ARG_SPEC
from ansible_collections.agentic.platform.plugins.module_utils.secret_data import step_data
from ansible_collections.agentic.platform.plugins.module_utils.secret_generate import generate
from ansible_collections.agentic.platform.plugins.plugin_utils.controller_action import KubeAction

ARG_SPEC = {
    **AUTH_ARG_SPEC,
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "groups": {"type": "dict", "required": True},
    "key_vars": {"type": "dict", "required": True},
    "given": {"type": "dict", "required": True, "no_log": True},
    "provided_keys": {"type": "list", "elements": "str", "default": []},
    "sealed_keys": {"type": "list", "elements": "str", "default": []},
    "mode": {"type": "str", "choices": ["apply", "sealed"], "default": "apply"},
    "password_length": {"type": "int", "default": 32, "no_log": False},
    "jwt_key_size": {"type": "int", "default": 3072, "no_log": False},
    "tls_dns_names": {"type": "list", "elements": "str", "default": []},
    "ca_common_name": {"type": "str", "default": "development CA"},
    "ca_validity_days": {"type": "int", "default": 3650},
    "tls_validity_days": {"type": "int", "default": 365},
}


class ActionModule(KubeAction):
    ARG_SPEC = ARG_SPEC

    def call(self, client, args: dict) -> dict:
        def make(groups: list) -> dict:
            return generate(groups, password_length=args["password_length"], jwt_key_size=args["jwt_key_size"],
                            tls_dns_names=args["tls_dns_names"], ca_common_name=args["ca_common_name"],
                            ca_validity_days=args["ca_validity_days"], tls_validity_days=args["tls_validity_days"])

        live = client.get("v1", "Secret", args["name"], args["namespace"])
        try:
            out = step_data(live, args["groups"], args["key_vars"], args["given"], args["provided_keys"], make,
                            args["mode"], args["sealed_keys"])
        except ValueError as exc:  # names groups and keys, never values
            return {"failed": True, "msg": str(exc)}
        return {"changed": False, **out}
