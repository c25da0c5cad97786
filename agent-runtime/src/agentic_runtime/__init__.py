"""Metrics, health checks and probe endpoints for agents deployed by agentic.platform."""

__version__ = "0.1.0"

from .health import HealthChecker
from .metrics import AgentMetrics, BoundedLabel
from .server import AgentServer, workflow_handler

__all__ = ["AgentMetrics", "AgentServer", "BoundedLabel", "HealthChecker", "__version__", "workflow_handler"]
