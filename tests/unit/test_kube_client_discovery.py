"""A run's tasks share the API server's discovery (plugin_utils/controller_action.py hands one
client's to the next): a remembered api version is not asked again, unless the kind looked for
is missing from it (a CRD installed since). Against a real HTTP server scripted per request."""

from __future__ import annotations

from ansible_collections.agentic.platform.plugins.module_utils.kube_client import KubeClient

from tests.kube_server_support import ScriptedServer, answer

CORE = {"resources": [{"name": "configmaps", "kind": "ConfigMap", "namespaced": True},
                      {"name": "configmaps/status", "kind": "ConfigMap", "namespaced": True}]}
WIDGETS_BEFORE = {"resources": [{"name": "gadgets", "kind": "Gadget", "namespaced": True}]}
WIDGETS_AFTER = {"resources": [*WIDGETS_BEFORE["resources"],
                               {"name": "widgets", "kind": "Widget", "namespaced": False}]}


def test_the_next_client_reuses_discovery_and_asks_again_for_a_new_kind():
    with ScriptedServer([answer(200, CORE), answer(200, WIDGETS_BEFORE), answer(200, WIDGETS_AFTER)]) as server:
        first = KubeClient(server.url, None, {}, timeout=5)
        assert first.path("v1", "ConfigMap", "ns", "a") == "/api/v1/namespaces/ns/configmaps/a"
        assert first.path("example.com/v1", "Gadget", "ns") == "/apis/example.com/v1/namespaces/ns/gadgets"
        assert len(server.requests) == 2
        second = KubeClient(server.url, None, {}, timeout=5)
        second.remember_resources(first.known_resources())
        assert second.path("v1", "ConfigMap", "ns", "b") == "/api/v1/namespaces/ns/configmaps/b"
        assert second.path("example.com/v1", "Gadget") == "/apis/example.com/v1/gadgets"
        assert len(server.requests) == 2  # nothing asked again
        assert second.path("example.com/v1", "Widget", None, "w") == "/apis/example.com/v1/widgets/w"
    assert [r[1] for r in server.requests] == ["/api/v1", "/apis/example.com/v1", "/apis/example.com/v1"]
