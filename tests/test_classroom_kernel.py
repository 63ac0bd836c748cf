"""A real kernel, a real class: the student edition's notebook 4 joins the class and gets a wrong answer.

The class server is started the way a teacher starts it (``python -m mnist_helpers class``, its
printed join line and page address read back). The student edition is built with ``python -m
mnist_helpers student``; its notebook 4, cut down to its imports and exercise 2, gets a join cell
and a softmax that forgets to subtract the maximum, and runs in a Jupyter kernel (nbclient). The
verdict id the check reported (its line printed in the notebook) is stored, and shows on the
teacher's page in Chromium.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import nbclient
import nbformat
import pytest
from lab_session import ROOT, free_port, launched

pytestmark = pytest.mark.slow  # a student edition, a kernel and a browser
WRONG_SOFTMAX = '''def softmax(outputs):
    """Each row of outputs turned into probabilities that sum to 1 (but exp can overflow)."""
    exps = outputs.exp()
    return exps / exps.sum(dim=1, keepdim=True)
'''


@pytest.fixture
def class_server(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mnist_helpers", "class", "--folder", str(tmp_path / "class"),
                               "--port", str(port)], stdout=subprocess.PIPE, text=True, encoding="utf-8", cwd=tmp_path,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    lines = [server.stdout.readline() for _ in range(5)]
    printed = "".join(lines)
    assert "Stop with Ctrl-C" in printed, printed
    page = re.search(r"(http://127\.0\.0\.1:\d+/teacher#\S+)", printed).group(1)
    join = re.search(r'join_class\("([^"]+)"', printed).group(1)
    yield page, join
    server.send_signal(signal.SIGTERM)
    assert server.wait(20) == 0


def test_a_wrong_answer_in_a_kernel_reaches_the_page(class_server, tmp_path, chromium):
    from mnist_helpers.exercises import catalog

    page_address, join = class_server
    edition = tmp_path / "edition"
    subprocess.run([sys.executable, "-m", "mnist_helpers", "student", "--out", str(edition)], check=True,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                   encoding="utf-8", timeout=600)
    nb = nbformat.read(edition / "04_softmax_cross_entropy.ipynb", as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    check = next(i for i, cell in enumerate(code) if "exercises.q2.check(softmax)" in cell.source)
    setup = [cell for cell in code[:3] if "import" in cell.source or "parameters" in cell.metadata.get("tags", [])]
    nb.cells = setup + [
        nbformat.v4.new_code_cell(f'mnist_helpers.exercises.join_class({join!r}, name="Ada")'),
        nbformat.v4.new_code_cell(WRONG_SOFTMAX),
        code[check],
        nbformat.v4.new_code_cell("from mnist_helpers.classroom import client\nprint('sent:', client._link.flush())"),
    ]
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    env = dict(os.environ, PYTHONPATH=str(ROOT), MNIST_CLASS_STATE=str(tmp_path / "state"))
    client.execute(env=env)  # passed on to the kernel's start
    said = ["".join(o.get("text", "") for o in nb.cells[i].outputs) for i in (-4, -2, -1)]  # join, check, flush
    assert said[0].startswith("Joined the class as Ada"), said
    assert said[1].startswith("Not yet:"), said  # the check's own line, as before
    assert said[2].strip() == "sent: True", said
    verdicts = {v for v, info in catalog().items() if info.exercise.startswith("04") and info.kind != "correct"}

    with launched(chromium) as browser:
        page = browser.new_page()
        page.goto(page_address)
        page.wait_for_selector(".mistake[data-verdict]", timeout=5000)
        shown = page.eval_on_selector_all(".mistake", "bars => bars.map(b => [b.dataset.verdict, b.dataset.count])")
        names = page.locator("#learners bdi.name").all_text_contents()
    assert shown == [["04.2/no-shift", "1"]] and "04.2/no-shift" in verdicts, shown  # the mistake, by its id
    assert catalog()[shown[0][0]].kind not in ("not-answered", "correct") and names == ["Ada"]
