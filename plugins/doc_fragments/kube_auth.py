"""Connection options of the in-controller Kubernetes actions (k8s_apply, k8s_read)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig (several joined by C(:) like E(KUBECONFIG)). Defaults to E(KUBECONFIG),
        then C(~/.kube/config); with none, the in-cluster service account is used.
      - Client certificates, bearer tokens, token files, basic auth and exec credential plugins
        (client.authentication.k8s.io) are supported; C(auth-provider) and C(proxy-url) are not.
      - An exec plugin's credential is validated and kept until its C(expirationTimestamp), so that a play
        runs the plugin once (a token is shared by the run's tasks through Ansible's private local
        temporary directory, removed when the run ends; a client key stays in memory). Its errors
        name the command, its exit code and its C(installHint), never its arguments or output.
    type: path
  context:
    description: The kubeconfig context; defaults to its current-context.
    type: str
  host:
    description: API server URL, overriding the kubeconfig's.
    type: str
  api_key:
    description: Bearer token, overriding the kubeconfig's credentials.
    type: str
  validate_certs:
    description:
      - Verify the API server's certificate; defaults to the kubeconfig's C(insecure-skip-tls-verify).
      - V(false) ignores the kubeconfig's certificate authority, as kubectl's C(--insecure-skip-tls-verify) does;
        together with O(ca_cert) it is an error.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA bundle to verify the API server with, overriding the kubeconfig's.
      - With a certificate authority (this one or the kubeconfig's), only that authority is trusted,
        not the system's roots as well, as with kubectl. A kubeconfig cluster that sets both a
        certificate authority and C(insecure-skip-tls-verify) is refused.
    type: path
    aliases: [ssl_ca_cert]
notes:
  - Talks to the API server with the collection's own client over one keep-alive HTTPS connection,
    with no Python dependency beyond ansible-core; the actions run in the controller (no module is
    sent to the host), M(agentic.platform.secret_rotation) where its host runs (it must reach Redis).
  - Credentials (tokens, basic auth, exec plugins) are never sent to an C(http://) API server; such a
    configuration is refused.
  - Reads, server-side applies and deletes are retried when the API server answers 429, or 503
    with a C(Retry-After) (waiting what it asks, at most 10 s a wait), or the connection breaks,
    for at most 30 s a call and never past the task's C(timeout); a POST is never sent twice.
"""
