"""Filters for the redis role's files (plugins/module_utils/redis_topology.py is the renderer)."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.redis_topology import (
    config_files,
    data_host,
    data_init_script,
    node_addresses,
    sentinel_addresses,
    sentinel_init_script,
    sentinel_min_available,
)

DOCUMENTATION = r"""
name: redis_config
short_description: The redis role's ConfigMap files and init scripts
version_added: 0.1.0
description:
  - C(redis_config) returns the ConfigMap's files of a Redis mode (C(standalone) or C(sentinel)) -
    C(redis.conf), the agent user's name and ACL rules and, in sentinel mode, the Sentinel's fixed
    configuration, the master name and the quorum.
  - C(redis_init_script) (input C(data) or C(sentinel), option C(mode)) returns the init container's
    shell script that writes a node's users (password hashes from the Secret's files) and, in
    sentinel mode, its replication settings or the Sentinel's configuration.
  - C(redis_sentinel_addresses) (input the namespace, option the count) returns host and port of every
    Sentinel; C(redis_data_host) (the namespace and an ordinal) a data node's stable name;
    C(redis_sentinel_min_available) (the number of Sentinels and the quorum) what a disruption must leave;
    C(redis_node_addresses) (the namespace, the replicas and the Sentinels) host and port of every node.
  - The tests run the same files and scripts with real redis-server and Sentinel processes.
options:
  _input:
    description: The mode (C(redis_config)) or the kind of node (C(redis_init_script)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The ConfigMap's files in sentinel mode
  ansible.builtin.debug:
    msg: "{{ 'sentinel' | agentic.platform.redis_config(agent_user='agent', agent_rules='~* +@read -@dangerous') }}"
"""

RETURN = r"""
_value:
  description: File name -> text (C(redis_config)); the script (C(redis_init_script)).
  type: raw
"""


def redis_config(mode, **settings):
    return config_files(mode=mode, **settings)


def redis_init_script(kind, mode="standalone"):
    return sentinel_init_script() if kind == "sentinel" else data_init_script(mode)


class FilterModule:
    def filters(self):
        return {"redis_config": redis_config, "redis_init_script": redis_init_script,
                "redis_sentinel_addresses": sentinel_addresses, "redis_data_host": data_host,
                "redis_sentinel_min_available": sentinel_min_available, "redis_node_addresses": node_addresses}
