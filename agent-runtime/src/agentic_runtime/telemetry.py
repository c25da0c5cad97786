"""OpenTelemetry traces (and, if asked, metrics) over OTLP/HTTP, or nothing at all.

The agent's configuration drives it: the ConfigMap keys `jaeger.enabled` and `jaeger.endpoint`
reach the agent as environment variables (the Deployment's `envFrom`), and
`Telemetry.from_environ()` reads them. `jaeger.endpoint` is the base URL of an OTLP/HTTP
receiver (a Jaeger collector or an OpenTelemetry Collector, port 4318); spans go to
`<endpoint>/v1/traces`. OpenTelemetry metrics (the GenAI and MCP instruments, every 10 s to
`<endpoint>/v1/metrics`) are exported only when `OTEL_METRICS_EXPORTER=otlp` too: a Jaeger
collector takes traces, not metrics.

Disabled (the default), nothing of OpenTelemetry is imported and no exporter thread starts:
`span()` returns one shared no-op context manager, `inject()` leaves the carrier alone.

Context: spans use OpenTelemetry's context (contextvars), so a span opened in a request handler
is the parent of the spans of the calls it makes, across `await` and `asyncio.to_thread`. W3C
trace context (`traceparent`, `tracestate`) is read from incoming HTTP headers and written into
outgoing HTTP headers (`inject`) and MCP requests' `params._meta` (`mcp_request`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from . import semconv

logger = logging.getLogger(__name__)

ENABLED_KEY = "jaeger.enabled"
ENDPOINT_KEY = "jaeger.endpoint"
METRICS_EXPORTER_KEY = "OTEL_METRICS_EXPORTER"
# As the config step checks jaeger.endpoint: a receiver's base URL, path empty or /v1/traces.
OTLP_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/|/v1/traces)?$")
METRICS_INTERVAL_MS = 10000


class _NoSpan:
    """What a disabled Telemetry's spans are: every method does nothing."""

    __slots__ = ()

    def set_attribute(self, key: str, value: Any) -> None:
        pass


NO_SPAN = _NoSpan()


class _NoSpanContext:
    __slots__ = ()

    def __enter__(self) -> _NoSpan:
        return NO_SPAN

    def __exit__(self, *exc: object) -> None:
        return None


_NO_SPAN_CONTEXT = _NoSpanContext()


def base_endpoint(endpoint: str) -> str:
    """`http://c:4318/` or `http://c:4318/v1/traces` -> `http://c:4318`."""
    return endpoint.rstrip("/").removesuffix("/v1/traces").rstrip("/")


class Telemetry:
    """Traces (and optionally metrics) to an OTLP/HTTP endpoint, or a no-op when `endpoint` is None.

    `metrics=True` also exports the GenAI/MCP instruments as OpenTelemetry metrics (see
    `AgentMetrics.otel_instruments`). `span_exporter` and `metric_reader` replace the OTLP span
    exporter and the periodic OTLP metric reader (tests).
    """

    def __init__(self, endpoint: str | None = None, *, service: str = "mcp-agent", version: str = "",
                 environment: str = "", metrics: bool = False, span_exporter: Any = None,
                 metric_reader: Any = None):
        self.enabled = endpoint is not None or span_exporter is not None
        self.endpoint = endpoint
        self.metrics = (metrics or metric_reader is not None) and self.enabled
        self._metric_reader = metric_reader
        self._tracer: Any = None
        self._tracer_provider: Any = None
        self._meter_provider: Any = None
        self._propagator: Any = None
        self._kinds: dict[str, Any] = {}
        if self.enabled:
            self._start(service, version, environment, span_exporter)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Telemetry:
        """From the ConfigMap keys `jaeger.enabled` ("true"/"false") and `jaeger.endpoint`."""
        env = os.environ if environ is None else environ
        enabled = env.get(ENABLED_KEY, "false").strip().lower()
        if enabled not in ("true", "false"):
            raise ValueError(f"{ENABLED_KEY} must be 'true' or 'false', got {enabled!r}")
        if enabled == "false":
            return cls(None, **kwargs)
        endpoint = env.get(ENDPOINT_KEY, "").strip()
        if not OTLP_URL.match(endpoint):
            raise ValueError(f"{ENDPOINT_KEY} must be the http:// or https:// base URL of an OTLP/HTTP receiver, "
                             f"path empty or /v1/traces (e.g. http://jaeger-collector.monitoring:4318) when "
                             f"{ENABLED_KEY} is true, got {endpoint!r}")
        metrics = env.get(METRICS_EXPORTER_KEY, "none").strip().lower() == "otlp"
        return cls(endpoint, metrics=metrics, **kwargs)

    def _start(self, service: str, version: str, environment: str, span_exporter: Any) -> None:
        # Imported here: a disabled Telemetry must not pay for (or need) the SDK.
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.trace import SpanKind
            from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        except ImportError as err:
            raise ValueError(f"{ENABLED_KEY} is true but the OpenTelemetry SDK is not installed ({err.name}): "
                             "install agentic-runtime[otlp]") from None

        attributes = {"service.name": service, "service.version": version, "deployment.environment.name": environment}
        resource = Resource.create({key: value for key, value in attributes.items() if value})
        if span_exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            span_exporter = OTLPSpanExporter(endpoint=f"{base_endpoint(self.endpoint)}/v1/traces")
        self._tracer_provider = TracerProvider(resource=resource)
        self._tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
        self._tracer = self._tracer_provider.get_tracer("agentic_runtime", version or None,
                                                        schema_url=semconv.SCHEMA_URL)
        self._propagator = TraceContextTextMapPropagator()
        self._kinds = {"internal": SpanKind.INTERNAL, "server": SpanKind.SERVER, "client": SpanKind.CLIENT}
        if self.metrics:
            from opentelemetry.sdk.metrics import MeterProvider

            reader = self._metric_reader
            if reader is None:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
                from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

                reader = PeriodicExportingMetricReader(
                    OTLPMetricExporter(endpoint=f"{base_endpoint(self.endpoint)}/v1/metrics"),
                    export_interval_millis=METRICS_INTERVAL_MS)
            self._meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        logger.info("tracing on: OTLP/HTTP to %s (semantic conventions %s)%s", self.endpoint or "a test exporter",
                    semconv.SEMCONV_VERSION, ", with metrics" if self.metrics else "")

    # -- metrics -----------------------------------------------------------------------------

    def instruments(self) -> dict[str, Any] | None:
        """The conventions' instruments on this Telemetry's meter, or None without OTLP metrics."""
        if self._meter_provider is None:
            return None
        meter = self._meter_provider.get_meter("agentic_runtime", schema_url=semconv.SCHEMA_URL)
        made: dict[str, Any] = {}
        for inst in semconv.INSTRUMENTS:
            made[inst.name] = meter.create_histogram(
                inst.name, unit=inst.unit, description=inst.description,
                explicit_bucket_boundaries_advisory=list(inst.buckets))
        return made

    # -- spans ---------------------------------------------------------------------------------

    def span(self, name: str, kind: str = "internal", attributes: Mapping[str, Any] | None = None,
             carrier: Mapping[str, str] | None = None):
        """A context manager for a span that is current while it runs (a no-op when disabled).

        `carrier`: headers of an incoming request, whose `traceparent` becomes the parent. An
        exception out of the block is recorded on the span and sets its status to error.
        """
        if self._tracer is None:
            return _NO_SPAN_CONTEXT
        context = self._propagator.extract(carrier) if carrier else None
        return self._tracer.start_as_current_span(name, context=context, kind=self._kinds[kind],
                                                  attributes=dict(attributes) if attributes else None)

    def inject(self, carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
        """Write the current span's W3C trace context (`traceparent`, `tracestate`) into `carrier`."""
        if self._propagator is not None:
            self._propagator.inject(carrier)
        return carrier

    def mcp_request(self, method: str, params: Mapping[str, Any] | None, request_id: int | str) -> dict[str, Any]:
        """A JSON-RPC request for an MCP server, the trace context in `params._meta` (MCP conventions)."""
        body: dict[str, Any] = dict(params or {})
        meta = dict(body.get("_meta") or {})
        self.inject(meta)
        if meta:
            body["_meta"] = meta
        return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": body}

    def flush(self) -> None:
        """Export what is queued now (spans are sent in batches, every few seconds)."""
        if self._tracer_provider is not None:
            self._tracer_provider.force_flush()

    def shutdown(self) -> None:
        """Flush and stop the exporters (their threads); a no-op when disabled."""
        if self._tracer_provider is not None:
            self._tracer_provider.shutdown()
        if self._meter_provider is not None:
            self._meter_provider.shutdown()


DISABLED = Telemetry()
