"""Base classes of the actions that run in the controller only (nothing is sent to a host)."""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import ApplyError
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient, KubeError


def client_from_args(args: dict, timeout: int | None = None) -> KubeClient:
    """A client from the connection options of the kube_auth doc fragment. The run's tasks share
    an exec plugin's token through Ansible's private local temporary directory (removed when the
    run ends); ``timeout`` (the task's) bounds the client's retries."""
    client = KubeClient.from_config(kubeconfig=args.get("kubeconfig"), context=args.get("context"),
                                    host=args.get("host"), api_key=args.get("api_key"),
                                    validate_certs=args.get("validate_certs"), ca_cert=args.get("ca_cert"),
                                    exec_cache_dir=C.DEFAULT_LOCAL_TMP)
    if timeout:
        client.deadline = time.monotonic() + timeout
    try:
        with open(_discovery_file(client), encoding="utf-8") as fh:
            client.remember_resources(json.load(fh))
    except (OSError, ValueError):
        pass  # the run's first task for this API server, or a cache being replaced: ask the server
    return client


def _discovery_file(client: KubeClient) -> str:
    """Where the run's tasks share the API server's discovery: Ansible's private local temporary
    directory, as the exec plugin's token (removed when the run ends)."""
    server = f"{client.scheme}://{client.host}:{client.port}{client.prefix}"
    return os.path.join(C.DEFAULT_LOCAL_TMP, f"discovery-{hashlib.sha256(server.encode()).hexdigest()[:16]}.json")


def share_discovery(client: KubeClient) -> None:
    """Hand what discovery found to the run's next tasks (written whole, then renamed into place)."""
    path = _discovery_file(client)
    try:
        with open(f"{path}.{os.getpid()}", "w", encoding="utf-8") as fh:
            json.dump(client.known_resources(), fh)
        os.replace(f"{path}.{os.getpid()}", path)
    except OSError:
        pass  # only a cache: the next task asks the server


class ControllerAction(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False


class KubeAction(ControllerAction):
    """Validates ARG_SPEC, opens a client from the connection options, runs ``call`` with it."""

    ARG_SPEC: dict = {}

    def call(self, client, args: dict) -> dict:
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=self.ARG_SPEC)[1]
        try:
            client = client_from_args(args, self._task.timeout)
            try:
                result.update(self.call(client, args))
            finally:
                client.close()
                share_discovery(client)
        except (ApplyError, KubeError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        return result
