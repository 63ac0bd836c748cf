"""Sizing a JupyterHub for a class from the readiness check's measurements.

Per learner: the largest kernel peak among the notebooks run. The memory guarantee is that peak
rounded up to 128 MiB; the limit adds ``HEADROOM`` and is rounded up to 256 MiB. One core each
(one math thread: ``OMP_NUM_THREADS=1``). For the whole hub, TLJH's formula: RAM = learners x
memory per learner + 128 MB, with the limit as the memory per learner (the headroom).
"""

from __future__ import annotations

import math

HEADROOM = 1.25  # the limit over the measured peak: another library version, a learner's own cell
HUB_OVERHEAD = 128 * 2**20  # TLJH's "+ 128 MB" for the hub and its proxy
THREADS = 1  # one core per learner, one math thread


def rounded_up(size: float, step: int) -> int:
    return int(math.ceil(size / step) * step)


def plan(peak_bytes: int, class_size: int) -> dict:
    """The figures of a hub for ``class_size`` learners whose kernels peak at ``peak_bytes``."""
    guarantee = rounded_up(peak_bytes, 128 * 2**20)
    limit = rounded_up(peak_bytes * HEADROOM, 256 * 2**20)
    return {"guarantee": guarantee, "limit": limit, "cpu_guarantee": 0.5, "cpu_limit": THREADS,
            "threads": THREADS, "ram": class_size * limit + HUB_OVERHEAD,
            "ram_at_peak": class_size * peak_bytes + HUB_OVERHEAD, "cores": class_size * THREADS + 1}


def size(nbytes: int) -> str:
    """A size as both hubs read it: ``896M``."""
    return f"{nbytes // 2**20}M"


def z2jh_values(figures: dict) -> str:
    """Zero to JupyterHub's ``config.yaml`` for the single-user servers."""
    return (f"singleuser:\n  memory:\n    guarantee: {size(figures['guarantee'])}\n"
            f"    limit: {size(figures['limit'])}\n"
            f"  cpu:\n    guarantee: {figures['cpu_guarantee']}\n    limit: {figures['cpu_limit']}\n"
            f"  extraEnv:\n    OMP_NUM_THREADS: \"{figures['threads']}\"\n")


def tljh_commands(figures: dict) -> str:
    """The Littlest JupyterHub's settings: ``tljh-config`` for the limits, a config file for the environment."""
    return (f"sudo tljh-config set limits.memory {size(figures['limit'])}\n"
            f"sudo tljh-config set limits.cpu {figures['cpu_limit']}\n"
            "echo 'c.Spawner.environment.update({\"OMP_NUM_THREADS\": \"%d\"})' | \\\n"
            "  sudo tee /opt/tljh/config/jupyterhub_config.d/mnist-threads.py\n"
            "sudo tljh-config reload hub\n") % figures["threads"]


def hub_settings(outcomes: list, class_size: int) -> str:
    """The closing section of ``notebooks --class-size N``: the figures, then the two snippets."""
    measured = [o for o in outcomes if o.peak_bytes]
    if not measured:
        return "hub settings: no kernel's peak memory was measured (it needs Linux or macOS), so none are given"
    largest = max(measured, key=lambda o: o.peak_bytes)
    figures = plan(largest.peak_bytes, class_size)
    gib = 2**30
    lines = [f"A hub for {class_size} learners at once (largest kernel: {largest.name}, "
             f"{largest.peak_bytes / 2**20:,.0f} MiB peak; one notebook's kernel open per learner at a time):",
             f"  memory per learner: guarantee {size(figures['guarantee'])}, limit {size(figures['limit'])} "
             f"(the peak plus {HEADROOM - 1:.0%})",
             f"  CPU per learner: guarantee {figures['cpu_guarantee']}, limit {figures['cpu_limit']}; "
             f"OMP_NUM_THREADS={figures['threads']}",
             f"  the server: RAM {class_size} x {size(figures['limit'])} + 128M = {figures['ram'] / gib:.1f} GiB "
             f"(TLJH's formula; {figures['ram_at_peak'] / gib:.1f} GiB at the bare peak), "
             f"{figures['cores']} cores (one per learner, one for the hub)"]
    if len(outcomes) < 9:
        lines.append("  (sized from the notebooks run here only: run the whole series to size it for the course)")
    return "\n".join(lines + ["", "# The Littlest JupyterHub:", tljh_commands(figures),
                              "# Zero to JupyterHub (config.yaml):", z2jh_values(figures)])
