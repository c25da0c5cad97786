"""The real node's agent image holds the runtime's otlp extra: with `jaeger.enabled=true` the
runtime starts its OTLP exporter from the image's files alone (not "SDK not installed").

The image's agent layer (localcluster.images, wheels downloaded once and cached) is unpacked and
its site-packages alone are put on the path of this machine's python3 (Debian's, the image's
Python release), with `-S -I` so that nothing installed here is found.
"""

from __future__ import annotations

import io
import subprocess
import tarfile

from localcluster import images

CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
from agentic_runtime.telemetry import Telemetry
telemetry = Telemetry.from_environ({"jaeger.enabled": "true", "jaeger.endpoint": "http://127.0.0.1:9"})
import opentelemetry.exporter.otlp.proto.http.trace_exporter as exporter
assert exporter.__file__.startswith(sys.argv[1]), exporter.__file__
telemetry.shutdown()
print("tracing on")
"""


def test_agent_layer_runs_tracing(tmp_path):
    with tarfile.open(fileobj=io.BytesIO(images._agent_layer())) as layer:
        layer.extractall(tmp_path, filter="data")
    site = tmp_path / images.PYTHON_SITE
    result = subprocess.run(["/usr/bin/python3", "-S", "-I", "-c", CHECK, str(site)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tracing on" in result.stdout
