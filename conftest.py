"""pytest setup shared by tests/ and the nbval run over notebooks/.

nbval re-executes every committed notebook and compares each output with the stored one,
after mnist_helpers/course/sanitize.cfg. Below: the environment of every kernel the suite starts,
the order in which the two workers take the work (``pytest_collection_modifyitems``), and two
additions to nbval, both through its own classes
(``IPyNbFile``, the collector of one notebook, and ``IPyNbCell``, one cell):

- stderr is left out, nbval's documented way ("stderr" added to the collector's ``skip_compare``):
  committed notebooks hold none (the runner refuses it), and stderr from a re-execution (a
  library's warning on another machine, say) is not part of what the series teaches;
- a cell whose outputs are not identical passes if they are the same within floating-point
  noise, by the readiness check's rule (``mnist_helpers.course.outputs.compare_outputs``): every
  word and whole number equal, every decimal within ``TOLERANCE``. Another CPU code path or
  thread count moves the last digits of a training, never a count or a word; a result that
  really changes (an accuracy moved by a point) still fails, with the first differing value named.

Every process of the suite warns where a text file is opened without naming its encoding (PEP 597):
the workers, the kernels and the subprocesses inherit ``PYTHONWARNDEFAULTENCODING=1`` from here, and a
pytest started without it runs again with ``-X warn_default_encoding`` (``pytest_cmdline_main``).
pyproject.toml's ``filterwarnings`` makes such a warning from the course's code an error, and so does
``mnist_helpers.files`` in every process that imports the package with the warnings on (kernels).
"""

import os
import re
import subprocess
import sys

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

from mnist_helpers.course.outputs import DIFFERENT, compare_outputs

# Kernels started by nbval (and by the browser test's JupyterLab, which drops MNIST_PROGRESS for its
# live bars) inherit this process's environment: a non-interactive MPLBACKEND (Agg) there would stop
# the inline backend from showing any figure.
os.environ.pop("MPLBACKEND", None)
# Headless, like the runner that made the stored outputs: fit prints its per-epoch lines, no live bar.
os.environ["MNIST_PROGRESS"] = "plain"
# The suite runs two workers at once (pytest-xdist), each starting kernels and subprocesses: one
# math thread per process, or their threads fight over the cores (measured: 10x slower). The
# printed results are the same to the digit either way.
os.environ["OMP_NUM_THREADS"] = "1"
# Windows' and some Macs' default encoding is not UTF-8: a text file opened without encoding= must show here.
# Libraries' own such warnings (torch, jupyter_client) are left out of the subprocesses' stderr; the course's
# code makes its own an error (mnist_helpers.files), which comes first.
os.environ["PYTHONWARNDEFAULTENCODING"] = "1"
if "EncodingWarning" not in os.environ.get("PYTHONWARNINGS", ""):
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore::EncodingWarning"]))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """A pytest started without ``-X warn_default_encoding`` runs again with it, the same arguments in the same folder.

    The flag is read when Python starts, so this process cannot turn it on for itself. Only a run from the command
    line is repeated (not ``pytest.main()`` inside another program), and only once.
    """
    if sys.flags.warn_default_encoding or list(config.invocation_params.args) != sys.argv[1:]:
        return None
    child = subprocess.Popen([sys.executable, "-X", "warn_default_encoding", "-m", "pytest", *sys.argv[1:]],
                             cwd=config.invocation_params.dir)
    try:
        return child.wait()
    except KeyboardInterrupt:  # the child got Ctrl-C too: let it finish its report
        return child.wait()


class NotebookCell(IPyNbCell):
    """One cell of a committed notebook: identical outputs pass, and so do outputs within floating-point noise."""

    def compare_outputs(self, test, ref, skip_compare=None):
        if super().compare_outputs(test, ref, skip_compare):
            return True
        comparison = compare_outputs(ref, test)  # stored, fresh: text outputs only, stderr left out
        if comparison.verdict != DIFFERENT:
            return True
        self.comparison_traceback.insert(0, f"first value beyond floating-point noise: {comparison.first}")
        return False


class Notebook(IPyNbFile):
    """A committed notebook, collected as nbval does, with stderr left out and ``NotebookCell`` cells."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip_compare += ("stderr",)

    def collect(self):
        for cell in super().collect():
            yield NotebookCell.from_parent(self, name=cell.name, cell_num=cell.cell_num, cell=cell.cell,
                                           options=cell.options)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    """nbval collects each notebook (with --nbval); ours replaces its collector by ``Notebook``."""
    collected = yield
    return [Notebook.from_parent(parent, path=file_path) if type(node) is IPyNbFile else node for node in collected]


def pytest_collection_modifyitems(items):
    """How the two workers share the suite: longest work first.

    pytest-xdist's ``--dist loadscope`` keeps each test module, and each notebook's cells under
    nbval, on one worker (a module's fixtures are built once; a notebook's cells share one kernel),
    and hands these units out in the order of the items. The units that run notebooks go first (the
    browser series, then nbval's notebooks, the longest first), then the other slow tests, then the
    quick ones, which fill in at the end.
    """

    def order(indexed) -> tuple:
        index, item = indexed
        notebook = re.match(r"(\d\d)_", item.path.name)
        if item.path.name == "test_browser.py" or notebook:
            return 0, -int(notebook.group(1)) if notebook else -100, index
        return 1 if item.get_closest_marker("slow") else 2, 0, index

    items[:] = [item for _, item in sorted(enumerate(items), key=order)]
