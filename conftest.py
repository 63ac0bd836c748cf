"""pytest setup shared by tests/ and the nbval run over notebooks/.

nbval re-executes every committed notebook and compares each output with the stored one,
after mnist_helpers/course/sanitize.cfg. Committed notebooks hold no stderr (the runner
refuses it), and stderr from a re-execution (a library's warning on another machine, say) is
not part of what the series teaches, so nbval leaves it out, its documented way: "stderr"
added to the collector's ``skip_compare``.
"""

import os

# Kernels started by nbval and papermill inherit this process's environment: a non-interactive
# MPLBACKEND (Agg) there would stop the inline backend from showing any figure.
os.environ.pop("MPLBACKEND", None)
# Headless, like the runner that made the stored outputs: fit prints its per-epoch lines, no live bar.
os.environ["MNIST_PROGRESS"] = "plain"
# The suite runs two workers at once (pytest-xdist), each starting kernels and subprocesses: one
# math thread per process, or their threads fight over the cores (measured: 10x slower). The
# printed results are the same to the digit either way.
os.environ["OMP_NUM_THREADS"] = "1"


def pytest_collectstart(collector):
    if hasattr(collector, "skip_compare"):  # nbval's collector of one notebook
        collector.skip_compare += ("stderr",)
