"""A private JupyterLab for the browser test, and the notebook actions a learner takes in it.

``running_jupyterlab`` serves a temporary copy of the repository (the checkout is never
modified or autosaved) from the project's environment, on 127.0.0.1 with a random token,
with its own settings: windowing off (JupyterLab 4 otherwise renders only the visible
cells), no news or update checks. ``run_notebook`` opens a notebook in the browser, clears
its outputs, runs all cells from the Run menu and reads back what every cell shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"  # screenshots of the browser tests, kept after a failure
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "data", "artifacts", "models", "__pycache__", "*.egg-info",
                                    ".pytest_cache", ".ipynb_checkpoints")
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


def find_chromium() -> Path | None:
    """A Chromium or Chrome to drive: $MNIST_CHROMIUM, one on the PATH, or Playwright's own; None if there is none."""
    if os.environ.get("MNIST_CHROMIUM"):
        path = Path(os.environ["MNIST_CHROMIUM"])
        if not path.is_file():
            raise FileNotFoundError(f"MNIST_CHROMIUM={path} is not a file: point it at a Chromium or Chrome executable")
        return path
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found and not _is_snap_wrapper(found):
            return Path(found)
    try:  # Playwright's own Chromium, installed with `python -m playwright install chromium`
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = Path(playwright.chromium.executable_path)
        return path if path.is_file() else None
    except Exception:
        return None


def _is_snap_wrapper(path: str) -> bool:
    """Ubuntu's chromium-browser can be a script that only asks to install the snap."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return True
    return head.startswith(b"#!") and b"snap install" in head


@dataclass
class Lab:
    url: str
    token: str
    root: Path  # the temporary copy of the repository it serves
    log: Path

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "sessions"):
            self.api("DELETE", f"sessions/{session['id']}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_jupyterlab(data_root: Path, startup_timeout: float = 120):
    """Start JupyterLab on a copy of the repository; yield a ``Lab``; stop it and remove the copy."""
    with tempfile.TemporaryDirectory(prefix="mnist-lab-") as folder:
        home = Path(folder)
        root = home / "repo"
        shutil.copytree(ROOT, root, ignore=NOT_COPIED)
        try:
            (root / "data").symlink_to(Path(data_root).resolve(), target_is_directory=True)
        except OSError:  # Windows allows symbolic links only to administrators and in developer mode
            shutil.copytree(data_root, root / "data")
        for name, values in SETTINGS.items():
            path = home / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        # Live progress bars and the inline backend, as a learner has them; OMP_NUM_THREADS stays as the
        # suite set it (conftest.py): a kernel using every core while another worker trains runs 4x slower.
        env = {k: v for k, v in os.environ.items() if k not in ("MNIST_PROGRESS", "MPLBACKEND")}
        env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "share"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        port, token = free_port(), secrets.token_hex(16)
        lab = Lab(f"http://127.0.0.1:{port}", token, root, home / "server.log")
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                   f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                   "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--ServerApp.allow_root=True")  # containers and CI often run as root
        with open(lab.log, "w", encoding="utf-8") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(lab, server, startup_timeout)
            yield lab
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


def wait_until_up(lab: Lab, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = lab.log.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"JupyterLab exited with code {server.returncode}:\n{log}")
        with contextlib.suppress(OSError):
            lab.api("GET", "status")
            return
        time.sleep(0.3)
    log = lab.log.read_text(encoding="utf-8")[-3000:]
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log}")


@contextlib.contextmanager
def launched(chromium: Path):
    """Chromium driven by Playwright, headless, with CHROMIUM_ARGS: the browser of every browser test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# What every cell shows, read from the page: type, prompt, first source line, outputs.
READ_CELLS = """notebook => [...notebook.querySelectorAll('.jp-Cell')].map(cell => ({
  code: cell.classList.contains('jp-CodeCell'),
  prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
  source: ((cell.querySelector('.cm-line') || {}).textContent || '').trim(),
  stdout: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]')]
          .map(o => o.textContent).join(''),
  stderr: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
          .map(o => o.textContent).join(''),
  images: [...cell.querySelectorAll('.jp-OutputArea-output img')].map(i => i.complete && i.naturalWidth > 0),
  bars: [...cell.querySelectorAll('.mnist-progress progress')].map(p => [p.value, p.max]),
  pads: [...cell.querySelectorAll('.mnist-pad')].map(pad => pad.dataset.guess || ''),
}))"""


# The conditions the tests wait for, each a function run in the page by Playwright's wait_for_function.
CURRENT_PANEL = "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)')"
# A kernel exists and is idle (the indicator alone says idle before any kernel has started).
KERNEL_READY = f"""(() => {{
  const panel = {CURRENT_PANEL};
  const status = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const name = panel && panel.querySelector('.jp-KernelName');
  return !!(status && name && status.getAttribute('data-status') === 'idle' && name.textContent.includes('Python'));
}})()"""
PROMPTS = f"""[...({CURRENT_PANEL} || document).querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
  .map(p => p.textContent.trim())"""
# Its tab is the current one in the main area, and its cells are on the page.
SHOWN = f"""name => {{
  const tab = document.querySelector('.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel');
  const panel = {CURRENT_PANEL};
  return !!(tab && tab.textContent === name && panel && panel.querySelector('.jp-Cell'));
}}"""
STARTED = f"() => {PROMPTS}.some(p => p !== '[ ]:')"
# After an error JupyterLab stops, and the cells left over show [ ] again.
FINISHED = f"() => !{PROMPTS}.includes('[*]:') && {KERNEL_READY}"
STDOUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]'
# The cell's first printed output differs from what it showed before, and the kernel is idle again
# (so that the output is whole: a cell may print in several pieces).
NEW_OUTPUT = f"""([cell, before]) => {{
  const output = cell.querySelector('{STDOUT}');
  return !!output && output.textContent !== before && {KERNEL_READY};
}}"""


class NotebookFailure(AssertionError):
    pass


def menu(page, top: str, item: str) -> None:
    page.click(f'.lm-MenuBar-itemLabel:text-is("{top}")')
    page.click(f'.lm-Menu-itemLabel:text-is("{item}")')


def wait_until(page, condition: str, timeout: float, what: str, arg=None) -> None:
    """Playwright's wait_for_function, checking ``condition`` in the page four times a second."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(condition, arg=arg, timeout=timeout * 1000, polling=250)
    except PlaywrightTimeout:
        raise NotebookFailure(f"timed out after {timeout:.0f} s waiting for {what}") from None


def printed(cell) -> str:
    """What a code cell (a Playwright locator) printed first, or "" before it has printed."""
    output = cell.locator(STDOUT)
    return output.first.text_content() if output.count() else ""


def wait_for_new_output(page, cell, before: str, timeout: float, what: str) -> str:
    """Wait until ``cell`` prints something other than ``before``; return what it printed."""
    wait_until(page, NEW_OUTPUT, timeout, what, arg=[cell.element_handle(), before])
    return printed(cell)


def open_notebook(page, lab: Lab, path: str) -> None:
    """Open a notebook as a learner does: JupyterLab loads once, then File > Open from Path..."""
    if not page.url.startswith(lab.url):
        page.goto(f"{lab.url}/lab?reset&token={lab.token}")
        page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=60_000)
    menu(page, "File", "Open from Path…")
    page.fill(".jp-Dialog input", path)
    page.keyboard.press("Enter")
    wait_until(page, SHOWN, 60, f"{path} to open", arg=path.rsplit("/", 1)[-1])


def run_notebook(page, lab: Lab, name: str, timeout: float = 300, folder: str = "notebooks") -> list[dict]:
    """Open ``<folder>/<name>.ipynb``, clear it, run all cells, wait for the kernel; return every cell as shown."""
    open_notebook(page, lab, f"{folder}/{name}.ipynb")
    wait_until(page, f"() => {KERNEL_READY}", 120, f"the kernel of {name} to start")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    notebook.locator(".jp-Cell").first.click()
    menu(page, "Edit", "Clear Outputs of All Cells")
    cells = notebook.evaluate(READ_CELLS)
    if any(c["code"] and c["prompt"].strip() != "[ ]:" for c in cells):
        raise NotebookFailure(f"{name}: the outputs were not cleared before running")
    menu(page, "Run", "Run All Cells")  # queues every code cell at once: each shows [*] until it has run
    wait_until(page, STARTED, 60, f"{name} to start running")
    try:
        wait_until(page, FINISHED, timeout, f"{name} to finish")
    except NotebookFailure as failure:
        waiting = [f"cell {i} ({c['source'][:60]!r})" for i, c in enumerate(notebook.evaluate(READ_CELLS))
                   if c["code"] and c["prompt"].strip() == "[*]:"]
        raise NotebookFailure(f"{name}: {failure}; still waiting: {', '.join(waiting[:5])}") from None
    return notebook.evaluate(READ_CELLS)


def screenshot(page, path: Path) -> None:
    """The whole notebook, top to bottom, in one picture (the page grows to the notebook's height)."""
    height = page.evaluate("""() => {
      const outer = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
      outer.scrollTop = 0;
      return outer.scrollHeight;
    }""")
    viewport = page.viewport_size
    page.set_viewport_size({"width": viewport["width"], "height": min(height + 160, 16_000)})
    page.wait_for_timeout(500)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size(viewport)
