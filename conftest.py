"""pytest setup shared by tests/ and the nbval run over notebooks/.

nbval compares every output of a re-executed notebook with the stored one. Stored notebooks
hold no stderr (the runner refuses it), and stderr from a re-execution (a library's warning
on another machine, say) is not part of what the series teaches, so it is left out of the
comparison. Everything else is compared, after tests/nbval_sanitize.cfg.
"""

import os

from nbval.plugin import IPyNbCell

from mnist_helpers.notebooks import is_stderr

# Kernels started by nbval and papermill inherit this process's environment: a non-interactive
# MPLBACKEND (Agg) there would stop the inline backend from showing any figure.
os.environ.pop("MPLBACKEND", None)
# Headless, like the runner that made the stored outputs: fit prints its per-epoch lines, no live bar.
os.environ["MNIST_PROGRESS"] = "plain"

_compare_outputs = IPyNbCell.compare_outputs


def _compare_without_stderr(self, test, ref, skip_compare=None):
    def keep(outputs):
        return [o for o in outputs if not is_stderr(o)]

    return _compare_outputs(self, keep(test), keep(ref), skip_compare)


IPyNbCell.compare_outputs = _compare_without_stderr
