"""Metrics, health checks and probe endpoints for agents deployed by agentic.platform."""

__version__ = "0.1.0"

from .health import HealthChecker  # noqa: E402
from .metrics import AgentMetrics, BoundedLabel  # noqa: E402
from .server import AgentServer, workflow_handler  # noqa: E402

__all__ = ["AgentMetrics", "AgentServer", "BoundedLabel", "HealthChecker", "__version__", "workflow_handler"]
