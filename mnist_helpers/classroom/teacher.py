"""``python -m mnist_helpers class``: start the class server and say how to join it and where to look.

On a JupyterHub (run as a hub service, ``$JUPYTERHUB_SERVICE_URL`` set) it listens where the hub
says, under the service's prefix, and the teacher's page needs the teacher's hub login.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
from pathlib import Path
from urllib.parse import urlparse

from ..errors import MnistHelpersError

DEFAULT_PORT = 8765


class CannotListen(MnistHelpersError):
    """The class server's address cannot be used: its port is taken, or the host is not this machine's."""

    exit_status = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--folder", type=Path, required=True,
                        help="the class's folder: its database and keys (a new class is a new folder)")
    parser.add_argument("--host", default=None,
                        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0: every "
                             "network this machine is on, see the README)")
    parser.add_argument("--port", type=int, default=None, help=f"port to listen on (default: {DEFAULT_PORT})")


def lan_address() -> str:
    """This machine's address on its local network (no packet is sent), else its name."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            return probe.getsockname()[0]
        except OSError:
            return socket.gethostname()


def hub_settings() -> dict | None:
    """Where a hub service listens and its prefix, from the hub's environment; None off a hub."""
    url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    if not url:
        return None
    where = urlparse(url)
    return {"host": where.hostname or "127.0.0.1", "port": where.port or 80,
            "prefix": os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/class/")}


async def serve(folder: Path, host: str, port: int, prefix: str = "/", hub: bool = False, catalog=None,
                exercise_ids=None, rate=None, ready=None) -> None:
    """Run the class server until SIGINT or SIGTERM (``ready``, if given, is called with the bound port)."""
    import tornado.httpserver
    import tornado.netutil

    from .server import RATE, make_app

    app = make_app(folder, catalog, exercise_ids, prefix, hub, rate or RATE)
    server = tornado.httpserver.HTTPServer(app, max_body_size=64 * 1024, idle_connection_timeout=60)
    try:
        sockets = tornado.netutil.bind_sockets(port, host)
    except OSError as err:  # nothing started: the port is taken, or the address is not this machine's
        raise CannotListen(f"cannot listen on {host}:{port} ({err.strerror or err}): choose another --port") from None
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    if ready:
        ready(app, bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            pass
    app.stop_event = stop
    await stop.wait()
    server.stop()
    app.class_state.db.close()


def announce(app, host: str, port: int, prefix: str, hub: bool) -> None:
    keys = app.class_state.keys
    shown = lan_address() if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}{prefix}"
    if hub:
        public = os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + prefix
        print(f"Class server running as a hub service at {base} (on the hub: {public})")
        print(f"Teacher's page: {public}teacher (the hub's login; the teacher needs access:services!service="
              f"{os.environ.get('JUPYTERHUB_SERVICE_NAME', 'class')})")
    else:
        print(f"Class server running at {base} (class folder: {app.class_state.db.path.parent})")
        print(f"Teacher's page (keep this address to yourself): {base}teacher#{keys.teacher}")
    print("Learners join with (one line in a notebook, or set MNIST_CLASS to the address):")
    print(f'    mnist_helpers.exercises.join_class("{base}#{keys.learner}", name="your nickname")')
    print("Stop with Ctrl-C: every report is already saved.", flush=True)


def main(args: argparse.Namespace) -> int:
    hub = hub_settings()
    host = args.host or (hub["host"] if hub else "127.0.0.1")
    port = args.port if args.port is not None else (hub["port"] if hub else DEFAULT_PORT)
    prefix = hub["prefix"] if hub else "/"
    # A folder refused (ClassFolderError) or an address taken (CannotListen): raised for the command line to print.
    asyncio.run(serve(args.folder, host, port, prefix, hub is not None,
                      ready=lambda app, bound: announce(app, host, bound, prefix, hub is not None)))
    return 0
