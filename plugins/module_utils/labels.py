"""The app.kubernetes.io/* labels of every object the collection applies: the one definition.

Every object of a region carries name, instance, version, component, part-of and managed-by.
One instance scheme: the region (agentic_region), so that name + instance identify an object of
a region's stack. Selectors use name + instance only (never version: selectors are immutable).
"""

from __future__ import annotations

MANAGED_BY = "agentic.platform"


def app_labels(release: dict, name: str, component: str, version: str | None = None) -> dict:
    """The six labels of an object named ``name`` of ``component``.

    ``release`` is the region's shared part, agentic_release: {instance, version, part_of}.
    ``version`` is the component's own version where it has one (the agent's, Redis'), else the
    platform release's."""
    return {
        "app.kubernetes.io/name": str(name),
        "app.kubernetes.io/instance": str(release["instance"]),
        "app.kubernetes.io/version": str(release["version"] if version is None else version),
        "app.kubernetes.io/component": str(component),
        "app.kubernetes.io/part-of": str(release["part_of"]),
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector_labels(release: dict, name: str) -> dict:
    """The labels a selector matches: name and instance."""
    return {"app.kubernetes.io/name": str(name), "app.kubernetes.io/instance": str(release["instance"])}
