"""The fair queue: workers take runs round-robin across workspaces, so that one visitor's first run never
waits behind another visitor's fortieth.

The workspace that has had the fewest runs started in the last ``RECENT_SECONDS`` goes first (ties: the
one whose next run was queued first); within a workspace, oldest first.
"""

from __future__ import annotations

from collections import deque

RECENT_SECONDS = 3600.0  # how far back a workspace's started runs count against it


def fair_order(queued: list[tuple[str, str, float]], started: dict[str, int]) -> list[str]:
    """The ids of the queued runs, ``(id, workspace, created)``, in the order workers take them, given how
    many runs each workspace has had ``started`` recently.
    """
    waiting: dict[str, deque[tuple[float, str]]] = {}
    for run_id, workspace, created in sorted(queued, key=lambda run: (run[2] or 0.0, run[0])):
        waiting.setdefault(workspace, deque()).append((created or 0.0, run_id))
    counts = {workspace: started.get(workspace, 0) for workspace in waiting}
    order = []
    while waiting:
        workspace = min(waiting, key=lambda name: (counts[name], waiting[name][0]))
        order.append(waiting[workspace].popleft()[1])
        counts[workspace] += 1
        if not waiting[workspace]:
            del waiting[workspace]
    return order
