"""The local cluster's definitions are consistent: versions pinned once, ports distinct."""

from __future__ import annotations

from localcluster import build, cluster, versions


def test_every_component_version_comes_from_its_wrapper_module():
    for component, (_packages, module) in versions.COMPONENTS.items():
        assert build.required_version(component, module).startswith("v")
    assert build.binary_dir("kubernetes").name.startswith("kubernetes-v1.")


def test_kubernetes_staging_modules_are_pinned_to_the_matching_minor():
    k8s = build.required_version("kubernetes", "k8s.io/kubernetes")  # v1.36.3
    staging = "v0." + k8s.split(".", 1)[1]
    gomod = (build.GOMOD / "kubernetes" / "go.mod").read_text()
    replaces = [line for line in gomod.splitlines() if "=>" in line]
    assert len(replaces) > 20
    assert all(line.strip().endswith(staging) for line in replaces), replaces


def test_clusters_use_distinct_ports():
    names = list(cluster.definitions()["clusters"])
    ports = [port for n in names for port in cluster.cluster_spec(n)["ports"].values()]
    assert len(ports) == len(set(ports))


def test_gpu_nodes_advertise_gpus_with_realistic_labels():
    nodes = cluster.node_manifests(cluster.cluster_spec("us-east"))
    gpu = [n for n in nodes if "nvidia.com/gpu" in n["status"]["capacity"]]
    cpu = [n for n in nodes if "nvidia.com/gpu" not in n["status"]["capacity"]]
    assert gpu and cpu
    for node in gpu:
        labels = node["metadata"]["labels"]
        assert labels["nvidia.com/gpu.present"] == "true"
        assert labels["nvidia.com/gpu.count"] == node["status"]["capacity"]["nvidia.com/gpu"]
        assert labels["nvidia.com/gpu.product"]
        assert labels["topology.kubernetes.io/region"] == "us-east-1"
        assert labels["topology.kubernetes.io/zone"].startswith("us-east-1")
        assert node["status"]["allocatable"] == node["status"]["capacity"]
    assert {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in cpu} == {
        "us-east-1a", "us-east-1b", "us-east-1c"}
