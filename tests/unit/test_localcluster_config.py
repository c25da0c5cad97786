"""The local cluster's definitions are consistent: versions pinned once, ports distinct."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

from localcluster import build, cluster, images, versions


def test_every_component_version_comes_from_its_wrapper_module():
    for component, (_packages, module) in {**versions.COMPONENTS, **versions.NODE_COMPONENTS}.items():
        assert build.required_version(component, module).startswith("v")
    assert build.binary_dir("kubernetes").name.startswith("kubernetes-v1.")
    # kubelet and kube-proxy come from the control plane's wrapper module: one version.
    assert build.binary_dir("kubelet").name.split("-", 1)[1] == build.binary_dir("kubernetes").name.split("-", 1)[1]
    assert build.binary("kube-router").parent == build.binary_dir("kube-router")


def test_an_oci_archive_is_content_addressed_and_self_consistent(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTIC_CACHE", str(tmp_path))
    layer = images._layer({"bin/hello": (b"#!/bin/sh\necho hi\n", 0o755)})
    archive = images.write_oci_archive("localhost/test/hello:1", [layer], {"Entrypoint": ["/bin/hello"]})
    assert images.write_oci_archive("localhost/test/hello:1", [layer], {"Entrypoint": ["/bin/hello"]}) == archive
    with tarfile.open(archive) as tar:
        blobs = {m.name.rsplit("/", 1)[-1]: tar.extractfile(m).read() for m in tar.getmembers() if "blobs/" in m.name}
        index = json.loads(tar.extractfile("index.json").read())
    assert all(hashlib.sha256(data).hexdigest() == digest for digest, data in blobs.items())
    entry = index["manifests"][0]
    assert entry["annotations"]["io.containerd.image.name"] == "localhost/test/hello:1"
    manifest = json.loads(blobs[entry["digest"].removeprefix("sha256:")])
    config = json.loads(blobs[manifest["config"]["digest"].removeprefix("sha256:")])
    assert config["rootfs"]["diff_ids"] == [entry["digest"] for entry in manifest["layers"]]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        assert tar.getmember("bin/hello").mode == 0o755 and tar.getmember("bin").isdir()


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


def test_the_real_node_vars_place_the_stack_on_the_real_node_with_the_images_built_here():
    import yaml

    from localcluster import node
    values = yaml.safe_load((build.GOMOD.parent / "real-node-vars.yml").read_text())
    assert (values["agent_image"], values["redis_image"]) == (images.AGENT_IMAGE, images.REDIS_IMAGE)
    for role in ("agent", "redis"):
        assert values[f"{role}_node_selector"] == {"kubernetes.io/hostname": node.NODE_NAME}
        assert values[f"{role}_tolerations"] == [{**node.TAINT, "operator": "Equal"}]
    # The inventory's own cluster is the one with the real node.
    assert "agentic_context" not in values and "agentic_kubeconfig" not in values
    assert cluster.cluster_spec("local")["real_node"] is True
