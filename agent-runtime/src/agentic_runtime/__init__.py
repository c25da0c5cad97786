"""Metrics, health checks and probe endpoints for agents deployed by agentic.platform."""
