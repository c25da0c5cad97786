"""The OpenTelemetry GenAI and MCP semantic conventions this library emits, pinned here only.

The GenAI and MCP conventions are still in Development and now live in their own repository
(semantic-conventions-genai); names, attributes and instrument types may change between
versions (the token histogram may become counters). Everything the library emits under these
conventions -- metric and span names, attribute keys, units, buckets, well-known values -- is
defined in this module, and `SEMCONV_VERSION` says which text it follows. The Prometheus names
of the metrics are derived from the OpenTelemetry names by `prometheus_name`, the
OpenTelemetry-to-Prometheus mapping, so there is one source for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The semantic-conventions-genai release whose text these names follow, and the general
# semantic conventions it builds on (HTTP, error.type, server.*).
SEMCONV_VERSION = "genai-0.1.0"
SEMCONV_REPOSITORY = "https://github.com/open-telemetry/semantic-conventions-genai"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.42.0"

# Attribute keys.
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"  # noqa: S105 (an attribute key, not a secret)
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
MCP_METHOD_NAME = "mcp.method.name"
ERROR_TYPE = "error.type"
HTTP_REQUEST_METHOD = "http.request.method"
HTTP_ROUTE = "http.route"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
URL_PATH = "url.path"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

# Well-known values (bounded vocabularies: anything else is recorded as `other`).
OPERATION_NAMES = frozenset({
    "chat", "create_agent", "embeddings", "execute_tool", "generate_content", "invoke_agent",
    "invoke_workflow", "plan", "retrieval", "text_completion",
})
LLM_OPERATION_NAMES = frozenset({"chat", "embeddings", "generate_content", "text_completion"})
PROVIDER_NAMES = frozenset({
    "anthropic", "aws.bedrock", "azure.ai.inference", "azure.ai.openai", "cohere", "deepseek",
    "gcp.gemini", "gcp.gen_ai", "gcp.vertex_ai", "groq", "ibm.watsonx.ai", "mistral_ai",
    "moonshot_ai", "openai", "perplexity", "x_ai",
})
TOKEN_TYPES = frozenset({"input", "output"})
TOOL_TYPES = frozenset({"function", "extension", "datastore"})
# JSON-RPC methods an MCP client sends (the MCP specification's request and notification names).
MCP_METHODS = frozenset({
    "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read",
    "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list",
    "prompts/get", "completion/complete", "logging/setLevel", "notifications/initialized",
    "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed",
})
# error.type's fallback when the instrumentation has no better low-cardinality value.
ERROR_OTHER = "_OTHER"


@dataclass(frozen=True)
class Instrument:
    """One metric instrument of the conventions."""

    name: str
    kind: str  # "histogram" or "counter"
    unit: str
    description: str
    attributes: tuple[str, ...]
    buckets: tuple[float, ...] = ()

    @property
    def prometheus_name(self) -> str:
        return prometheus_name(self.name, self.unit, self.kind)

    @property
    def prometheus_labels(self) -> tuple[str, ...]:
        return tuple(prometheus_label(a) for a in self.attributes)


TOKEN_USAGE = Instrument(
    "gen_ai.client.token.usage", "histogram", "{token}", "Number of input and output tokens used",
    (GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, GEN_AI_TOKEN_TYPE),
    (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864))
OPERATION_DURATION = Instrument(
    "gen_ai.client.operation.duration", "histogram", "s", "GenAI operation duration",
    (GEN_AI_OPERATION_NAME, GEN_AI_PROVIDER_NAME, GEN_AI_REQUEST_MODEL, ERROR_TYPE),
    (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92))
EXECUTE_TOOL_DURATION = Instrument(
    "gen_ai.execute_tool.duration", "histogram", "s", "The duration of a single tool execution",
    (GEN_AI_TOOL_NAME, GEN_AI_TOOL_TYPE, ERROR_TYPE),
    (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92))
MCP_CLIENT_OPERATION_DURATION = Instrument(
    "mcp.client.operation.duration", "histogram", "s",
    "The duration of the MCP request or notification as observed on the sender",
    (MCP_METHOD_NAME, GEN_AI_TOOL_NAME, ERROR_TYPE),
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300))
INSTRUMENTS = (TOKEN_USAGE, OPERATION_DURATION, EXECUTE_TOOL_DURATION, MCP_CLIENT_OPERATION_DURATION)

# Span names (the conventions' "{operation} {target}" forms).
def llm_span_name(operation: str, model: str) -> str:
    return f"{operation} {model}"


def tool_span_name(method: str, tool: str) -> str:
    return f"{method} {tool}"


def workflow_span_name(workflow: str) -> str:
    return f"invoke_workflow {workflow}"


# -- the OpenTelemetry-to-Prometheus mapping (specification: Prometheus and OpenMetrics
#    compatibility, "Metric Metadata"): what a Collector's prometheus exporter would expose ----

_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio", "%": "percent"}


def _sanitize(name: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_:]", "_", name))


def prometheus_name(name: str, unit: str, kind: str) -> str:
    """`gen_ai.client.operation.duration`, `s`, histogram -> `gen_ai_client_operation_duration_seconds`.

    Units in braces (`{token}`) are annotations and add nothing; a counter ends in `_total`.
    """
    base = _sanitize(name)
    if unit and not (unit.startswith("{") and unit.endswith("}")):
        suffix = _sanitize(_UNITS.get(unit, unit))
        if not base.endswith("_" + suffix):
            base += "_" + suffix
    if kind == "counter":
        base += "_total"
    return base


def prometheus_label(attribute: str) -> str:
    """`gen_ai.token.type` -> `gen_ai_token_type`."""
    return _sanitize(attribute)
