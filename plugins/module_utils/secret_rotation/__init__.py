"""Secret rotation logic for agentic.platform (plain Python, unit-testable without Ansible).

Public entry point: :func:`engine.run_rotation`.
"""
