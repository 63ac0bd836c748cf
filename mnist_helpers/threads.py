"""As many math threads as this process may use: the CPU affinity mask and the cgroup quota, not the machine's cores.

On a JupyterHub a kernel may see 16 cores but be allowed 1 (a container's ``cpu.max``), and
PyTorch's default of one thread per visible core then runs many times slower. Applied when
``mnist_helpers`` is imported; a learner's own ``OMP_NUM_THREADS``, or an earlier
``torch.set_num_threads``, wins.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "QUOTA PERIOD" in microseconds, or "max PERIOD"


def visible_cores() -> int:
    """The cores this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def quota_cores(cpu_max: Path = CPU_MAX) -> int | None:
    """The cgroup v2 CPU quota in whole cores (rounded up), or None without a quota or a readable file."""
    try:
        quota, period = cpu_max.read_text(encoding="utf-8").split()[:2]
        return None if quota == "max" else max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def allowed_threads(cpu_max: Path = CPU_MAX) -> int:
    """How many threads this process may keep busy: its affinity mask, capped by its cgroup quota."""
    quota = quota_cores(cpu_max)
    return min(visible_cores(), quota) if quota else visible_cores()


def apply(cpu_max: Path = CPU_MAX) -> int:
    """Lower PyTorch's threads to ``allowed_threads()`` unless the learner chose a number; return the number in use.

    PyTorch's own default is one thread per core of the affinity mask: a different number means it
    was set (``torch.set_num_threads``) and is left alone, as is any ``OMP_NUM_THREADS``.
    """
    import torch

    current = torch.get_num_threads()
    if os.environ.get("OMP_NUM_THREADS") or current != visible_cores():
        return current
    allowed = allowed_threads(cpu_max)
    if allowed < current:
        torch.set_num_threads(allowed)
    return torch.get_num_threads()
