"""Threads that respect the quota: mnist_helpers uses as many math threads as the process may, no more.

The affinity mask is tested with ``taskset`` in a subprocess; the cgroup quota with a ``cpu.max``
file the test writes (the function reads the path it is given), never the real cgroup.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_helpers import threads

ROOT = Path(__file__).resolve().parent.parent
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def threads_in_subprocess(code: str, prefix: tuple[str, ...] = (), **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | {"PYTHONPATH": str(ROOT)} | env
    done = subprocess.run([*prefix, sys.executable, "-c", code + "\nimport torch; print(torch.get_num_threads())"],
                          capture_output=True, text=True, encoding="utf-8", env=environ, timeout=120, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.parametrize("text, cores", [("max 100000", None), ("50000 100000", 1), ("150000 100000", 2),
                                         ("400000 100000", 4), ("", None), ("garbage", None)])
def test_the_quota_is_read_from_cpu_max(tmp_path, text, cores):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text(text + "\n", encoding="utf-8")
    assert threads.quota_cores(cpu_max) == cores
    assert threads.quota_cores(tmp_path / "absent") is None


def test_a_quota_below_the_cores_lowers_the_threads(tmp_path):
    if CORES < 2:
        pytest.skip("needs 2 cores to see a quota of 1 take effect")
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("100000 100000\n", encoding="utf-8")  # one core's worth
    code = f"import torch; assert torch.get_num_threads() == {CORES}\nfrom mnist_helpers import threads\n" \
           f"threads.apply(__import__('pathlib').Path({str(cpu_max)!r}))"
    assert threads_in_subprocess(code) == 1


def test_the_learners_choice_wins(tmp_path):
    if CORES < 2:
        pytest.skip("needs 2 cores")
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("100000 100000\n", encoding="utf-8")
    apply = f"from mnist_helpers import threads\nthreads.apply(__import__('pathlib').Path({str(cpu_max)!r}))"
    assert threads_in_subprocess(apply, OMP_NUM_THREADS=str(CORES)) == CORES  # OMP_NUM_THREADS set
    chosen = "import torch; torch.set_num_threads(3)\n" + apply  # an earlier set_num_threads
    assert threads_in_subprocess(chosen) == 3


@pytest.mark.skipif(shutil.which("taskset") is None or CORES < 2, reason="needs taskset and 2 cores")
def test_the_affinity_mask_counts_not_the_machine():
    code = "from mnist_helpers import threads\nprint(threads.allowed_threads(), threads.visible_cores())"
    done = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                          encoding="utf-8", env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120, check=True)
    assert done.stdout.split() == ["1", "1"]
    assert threads_in_subprocess("import mnist_helpers", prefix=("taskset", "-c", "0")) == 1


def test_importing_the_helpers_here_keeps_the_threads_allowed():
    assert 1 <= torch.get_num_threads() <= max(CORES, int(os.environ.get("OMP_NUM_THREADS") or 0))
