"""The class server as a JupyterHub service, with the environment a hub gives a service.

No hub runs here: a small stand-in answers the hub API's ``/user`` the way JupyterHub does (a user
model with its scopes, for a token). The server listens where ``$JUPYTERHUB_SERVICE_URL`` says, under
``$JUPYTERHUB_SERVICE_PREFIX``; the teacher's page sends a visitor to the hub's login, lets in a
user with ``access:services!service=class`` and nobody else; learners report as anywhere else, and
their kernels find the class and their names in their own environment.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import urllib.error
import urllib.request

import pytest
import tornado.web
from classroom_fakes import EXERCISES, FAKE, http
from lab_session import free_port

from mnist_helpers.classroom import client as class_client
from mnist_helpers.classroom.storage import class_keys
from mnist_helpers.classroom.teacher import hub_settings, serve

USERS = {"teacher-token": {"kind": "user", "name": "teacher", "admin": False, "groups": [],
                           "scopes": ["access:services!service=class"]},
         "learner-token": {"kind": "user", "name": "ada", "admin": False, "groups": [], "scopes": ["self"]}}
Verdict = collections.namedtuple("Verdict", "exercise id line kind")


class HubUser(tornado.web.RequestHandler):
    def get(self):
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        if token not in USERS:
            raise tornado.web.HTTPError(403)
        self.write(USERS[token])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def hub_service(tmp_path, monkeypatch):
    from jupyterhub.services.auth import HubOAuth

    hub_port, port = free_port(), free_port()
    env = {"JUPYTERHUB_API_TOKEN": "service-token", "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub_port}/hub/api",
           "JUPYTERHUB_BASE_URL": "/", "JUPYTERHUB_HOST": "", "JUPYTERHUB_SERVICE_NAME": "class",
           "JUPYTERHUB_SERVICE_PREFIX": "/services/class/", "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
           "JUPYTERHUB_CLIENT_ID": "service-class",
           "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/class/oauth_callback",
           "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps(["access:services!service=class", "access:services"])}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    HubOAuth.clear_instance()
    settings = hub_settings()
    assert settings == {"host": "127.0.0.1", "port": port, "prefix": "/services/class/"}
    started, loops = threading.Event(), {}

    async def both():
        hub = tornado.web.Application([("/hub/api/user", HubUser)]).listen(hub_port, "127.0.0.1")
        loops["loop"] = asyncio.get_running_loop()
        await serve(tmp_path / "class", settings["host"], settings["port"], settings["prefix"], True, FAKE, EXERCISES,
                    ready=lambda app, bound: (loops.update(app=app), started.set()))
        hub.stop()

    thread = threading.Thread(target=asyncio.run, args=(both(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield f"http://127.0.0.1:{port}/services/class/", class_keys(tmp_path / "class")
    loops["loop"].call_soon_threadsafe(loops["app"].stop_event.set)
    thread.join(10)
    HubOAuth.clear_instance()


def get(url: str, token: str | None = None):
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def test_the_teachers_page_is_behind_the_hub_login(hub_service):
    base, keys = hub_service
    status, headers, _ = get(base + "teacher")
    assert status == 302 and "/hub/api/oauth2/authorize" in headers["Location"]
    assert "client_id=service-class" in headers["Location"]
    assert get(base + "teacher", "learner-token")[0] == 403  # a hub user without access to the service
    assert get(base + "teacher", "teacher-token")[0] == 200
    assert get(base + "api/summary", "learner-token")[0] == 403
    assert get(base + "api/summary")[0] == 403
    status, _, body = get(base + "api/summary", "teacher-token")
    assert status == 200 and json.loads(body)["learners"] == 0
    assert http(base + "api/summary", key=keys.teacher)[0] == 200  # the key still works, for the CLI's line


def test_learners_kernels_find_the_class_on_the_hub(hub_service, monkeypatch, tmp_path, capsys):
    base, keys = hub_service
    monkeypatch.setenv("MNIST_CLASS_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("MNIST_CLASS", base + "#" + keys.learner)  # what the hub's spawner sets
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    monkeypatch.setattr(class_client, "_link", None)
    class_client.report(Verdict("05.2", "05.2/not-yet", "line", "kind"))  # no join line: the environment's class
    assert class_client._link.flush()
    people = json.loads(get(base + "api/summary", "teacher-token")[2])["people"]
    assert [p["name"] for p in people] == ["ada"]
    class_client.join_class(name="")  # the learner chooses to be anonymous
    class_client.report(Verdict("05.2", "05.2/correct", "line", "kind"))
    assert class_client._link.flush()
    class_client._link.close()
    people = json.loads(get(base + "api/summary", "teacher-token")[2])["people"]
    assert [p["name"] for p in people] == [""] and people[0]["done"] == ["05.2"]
    monkeypatch.setattr(class_client, "_link", None)
