"""What the local cluster builds and fetches, each pinned in one place.

The Go-built components are pinned by the wrapper modules under gomod/ (their go.mod
`require` line is the version); the CRD schemas are read from these upstream Go modules.
"""

# Go wrapper module directory -> (main package paths to build, module whose version stamps them)
COMPONENTS = {
    "kubernetes": (
        [
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
            "k8s.io/kubernetes/cmd/kubectl",
        ],
        "k8s.io/kubernetes",
    ),
    "etcd": (["go.etcd.io/etcd/server/v3"], "go.etcd.io/etcd/server/v3"),
    "kwok": (["sigs.k8s.io/kwok/cmd/kwok"], "sigs.k8s.io/kwok"),
    "kubeseal": (["github.com/bitnami/sealed-secrets/cmd/kubeseal"], "github.com/bitnami/sealed-secrets"),
}

# The real node's components, built only for clusters that run one (clusters.yml `real_node`).
NODE_COMPONENTS = {
    # Same wrapper module (so the same version) as the control plane, cached apart from it.
    "kubelet": (["k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-proxy"], "k8s.io/kubernetes"),
    "containerd": (
        [
            "github.com/containerd/containerd/v2/cmd/containerd",
            "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
            "github.com/containerd/containerd/v2/cmd/ctr",
        ],
        "github.com/containerd/containerd/v2",
    ),
    "coredns": (["agentic.platform/localcluster/coredns"], "github.com/coredns/coredns"),
    "kube-router": (
        ["github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"], "github.com/cloudnativelabs/kube-router/v2",
    ),
}

# Tools some tests start, built on first use (build.build_component), never by `localcluster up`.
TOOL_COMPONENTS = {
    # An OpenTelemetry Collector of core components (OTLP receiver, debug exporter): main.go
    # in gomod/otelcol; the runtime's tracing tests send it spans.
    "otelcol": (["agentic.platform/localcluster/otelcol"], "go.opentelemetry.io/collector/otelcol"),
    # The Grafana dashboard linter (main.go in gomod/dashlint: the Grafana Foundation SDK's strict
    # dashboard types, dashboard-linter's rules, Prometheus's PromQL parser); the monitoring tests run it.
    "dashlint": (["agentic.platform/localcluster/dashlint"], "github.com/grafana/grafana-foundation-sdk/go"),
}

# Wrapper module directory of a component when it is not the component's own name.
GOMOD_DIRS = {"kubelet": "kubernetes"}

# Binary name of a main package whose path does not end in it.
BINARY_NAMES = {
    "go.etcd.io/etcd/server/v3": "etcd",
}

# Real CRD schemas shipped inside the upstream projects' Go modules (never rewritten here).
CRD_SOURCES = {
    "istio.io/api@v1.32.0": ["kubernetes/customresourcedefinitions.gen.yaml"],
    "github.com/prometheus-operator/prometheus-operator@v0.85.0": [
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
    ],
    "github.com/bitnami-labs/sealed-secrets@v0.40.0": ["helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml"],
    "github.com/kedacore/keda/v2@v2.21.0": ["config/crd/bases/keda.sh_scaledobjects.yaml"],
}

# kwok's own stage definitions (node heartbeat, pod lifecycle), read from its module.
KWOK_STAGES = [
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
]
