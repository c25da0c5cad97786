"""Metrics, health checks and probe endpoints for agents deployed by agentic.platform."""

__version__ = "0.1.0"

from .health import HealthChecker
from .metrics import AgentMetrics, BoundedLabel
from .server import AgentServer, workflow_handler
from .telemetry import Telemetry

__all__ = ["AgentMetrics", "AgentServer", "BoundedLabel", "HealthChecker", "Telemetry", "__version__",
           "workflow_handler"]
