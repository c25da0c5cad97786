"""Canary releases of the agent: analysis (analysis.py), the objects a step applies (objects.py),
the state kept on the cluster and the region's run (engine.py)."""
