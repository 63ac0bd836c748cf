"""The class server (Tornado): learners' checks report here, and the teacher's page reads the class.

Routes, under a prefix ("/", or the hub's ``JUPYTERHUB_SERVICE_PREFIX``):

- ``POST api/join`` with the learner key: a learner joins (or joins again) and gets a token of their own;
- ``POST api/report`` with that token: one verdict (exercise, verdict id, attempt number, time);
- ``GET api/summary`` and ``GET api/class.csv`` with the teacher key (or, on a hub, the teacher's login);
- ``GET teacher``: the teacher's page; ``GET /``: a line for a learner who opened the join address.

Keys travel in the ``Authorization`` header, never in a URL, so the access log never shows one. A
wrong key gets 403 and changes nothing; so does everything refused: 413 for a body over
``BODY_LIMIT``, 400 for malformed JSON, 422 for unknown ids, 409 for a replayed report (its attempt
number is not more than the learner's last), 429 for more reports than ``RATE`` allows a learner.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
import unicodedata
from pathlib import Path

import tornado.web

from .storage import ClassDatabase, Keys, class_keys
from .summary import summarise

STATIC = Path(__file__).with_name("static")
BODY_LIMIT = 1024  # bytes: a report is about 100
NAME_LIMIT = 40
MAX_LEARNERS = 2000
RATE = (30, 3.0)  # a learner's reports: a burst of 30, then 3 a second
JOIN_RATE = (200, 10.0)  # joins, the whole class together
MAX_AGE = 7 * 24 * 3600  # a report older than a week (or from the future) is refused
PAGE_HEADERS = {  # the page loads nothing from outside the server, and nothing inline
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                               "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Bucket:
    """A token bucket: ``capacity`` at once, refilled at ``rate`` a second."""

    def __init__(self, capacity: int, rate: float):
        self.capacity, self.rate = capacity, rate
        self.level, self.stamp = float(capacity), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level < 1:
            return False
        self.level -= 1
        return True


def digest(token: str) -> bytes:
    """What tokens are looked up by: a dict lookup on the digest tells nothing about the token."""
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


def check_name(name) -> str:
    """The learner's name as stored, or ValueError saying what is wrong with it."""
    if name is None:
        return ""
    if not isinstance(name, str):
        raise ValueError("the name should be text")
    name = name.strip()
    if len(name) > NAME_LIMIT:
        raise ValueError(f"the name has {len(name)} characters, more than {NAME_LIMIT}: choose a shorter one")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise ValueError("the name holds control characters: choose one without")
    return name


class ClassState:
    """What every handler shares: the database, the keys, the catalog and the rate limits."""

    def __init__(self, folder: Path, catalog: dict, exercise_ids: list[str], keys: Keys,
                 rate: tuple[int, float] = RATE):
        self.db = ClassDatabase(folder)
        self.catalog, self.exercise_ids, self.keys, self.rate = catalog, list(exercise_ids), keys, rate
        self.known = set(self.exercise_ids)
        self.tokens = {digest(token): learner for token, learner in self.db.tokens().items()}
        self.buckets: dict[int, Bucket] = {}
        self.joins = Bucket(*JOIN_RATE)


class ClassHandler(tornado.web.RequestHandler):
    def initialize(self, state: ClassState):
        self.state = state

    def set_default_headers(self):
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)

    def write_error(self, status_code: int, **kwargs):
        reason = kwargs.get("exc_info", (None, None))[1]
        message = getattr(reason, "log_message", None) or self._reason
        self.finish({"error": message})

    def bearer(self) -> str:
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() in ("bearer", "token") else ""

    def key_is(self, key: str) -> bool:
        return hmac.compare_digest(self.bearer().encode("utf-8", "replace"), key.encode("utf-8"))

    def json_body(self) -> dict:
        if len(self.request.body) > BODY_LIMIT:
            raise tornado.web.HTTPError(413, f"the body is over {BODY_LIMIT} bytes")
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise tornado.web.HTTPError(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, "the body should be a JSON object")
        return body

    def teacher_allowed(self) -> bool:
        """The teacher's key, or (on a hub) a hub login with access to this service."""
        return self.key_is(self.state.keys.teacher) or bool(self.settings.get("hub") and self.current_user)


class JoinHandler(ClassHandler):
    def post(self):
        if not self.key_is(self.state.keys.learner):
            raise tornado.web.HTTPError(403, "wrong learner key: copy the join line the teacher gave")
        body = self.json_body()
        try:
            name = check_name(body.get("name"))
        except ValueError as err:
            raise tornado.web.HTTPError(400, str(err)) from None
        token = body.get("token")
        learner = self.state.tokens.get(digest(token)) if isinstance(token, str) else None
        if learner is not None:  # the same learner again (a new kernel, the next notebook)
            self.state.db.rename(learner, name)
        else:
            if self.state.db.learner_count() >= MAX_LEARNERS:
                raise tornado.web.HTTPError(429, f"the class is full ({MAX_LEARNERS} learners)")
            if not self.state.joins.take():
                raise tornado.web.HTTPError(429, "too many joins at once: try again in a few seconds")
            learner, token = self.state.db.add_learner(name)
            self.state.tokens[digest(token)] = learner
        self.write({"learner": learner, "token": token, "name": name,
                    "attempts": self.state.db.last_attempts(learner)})


class ReportHandler(ClassHandler):
    def post(self):
        learner = self.state.tokens.get(digest(self.bearer()))
        if learner is None:
            raise tornado.web.HTTPError(403, "unknown learner token: join the class again")
        bucket = self.state.buckets.setdefault(learner, Bucket(*self.state.rate))
        if not bucket.take():
            raise tornado.web.HTTPError(429, "too many reports: slow down")
        body = self.json_body()
        if set(body) != {"exercise", "verdict", "attempt", "time"}:
            raise tornado.web.HTTPError(400, "a report has exactly: exercise, verdict, attempt, time")
        exercise, verdict, attempt, when = body["exercise"], body["verdict"], body["attempt"], body["time"]
        if not isinstance(attempt, int) or isinstance(attempt, bool) or not 1 <= attempt <= 10**6:
            raise tornado.web.HTTPError(400, "attempt should be a whole number from 1 to 1000000")
        now = time.time()
        if (not isinstance(when, (int, float)) or isinstance(when, bool) or not math.isfinite(when)
                or not now - MAX_AGE <= when <= now + 300):
            raise tornado.web.HTTPError(400, "time should be the check's time, in seconds since 1970 (UTC)")
        if exercise not in self.state.known:
            raise tornado.web.HTTPError(422, "unknown exercise id")
        info = self.state.catalog.get(verdict) if isinstance(verdict, str) else None
        if info is None or info.exercise != exercise:
            raise tornado.web.HTTPError(422, "unknown verdict id for this exercise")
        if not self.state.db.add_report(learner, exercise, verdict, attempt, float(when)):
            raise tornado.web.HTTPError(409, "attempt already reported (a replayed report)")
        self.write({"stored": True})


class SummaryHandler(ClassHandler):
    def get(self):
        if not self.teacher_allowed():
            raise tornado.web.HTTPError(403, "the teacher's key is needed")
        state = self.state
        self.write(summarise(state.catalog, state.exercise_ids, state.db.learners(), state.db.reports()))


class CsvHandler(ClassHandler):
    def get(self):
        if not self.teacher_allowed():
            raise tornado.web.HTTPError(403, "the teacher's key is needed")
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="class.csv"')
        self.write(self.state.db.csv())


class PageHandler(ClassHandler):
    """A page of the package's ``static`` folder; in hub mode the teacher's page needs the teacher's login."""

    def initialize(self, state: ClassState, page: str, login: bool = False):
        super().initialize(state)
        self.page, self.login = page, login

    def get(self):
        if self.login and self.settings.get("hub") and not self.current_user:
            if getattr(self, "hub_refused", False):  # logged in, but without access to this service
                raise tornado.web.HTTPError(403, "your hub user has no access to the class's page")
            self.redirect(self.get_login_url())
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write((STATIC / self.page).read_bytes())


class HubLogin:
    """For the teacher's handlers on a hub: asks the hub who is logged in without blocking the server."""

    async def prepare(self):
        from jupyterhub.services.auth import UserNotAllowed

        self._hub_auth_user_cache = None
        if self.key_is(self.state.keys.teacher):
            return
        model = await self.hub_auth.get_user(self, sync=False)
        try:
            self._hub_auth_user_cache = self.check_hub_user(model) if model else None
        except UserNotAllowed:
            self.hub_refused = True


class StaticHandler(tornado.web.StaticFileHandler):
    def set_default_headers(self):
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)


def make_app(folder: Path, catalog: dict | None = None, exercise_ids: list[str] | None = None,
             prefix: str = "/", hub: bool = False, rate: tuple[int, float] = RATE) -> tornado.web.Application:
    """The class server's application for the class in ``folder`` (the real catalog unless one is given)."""
    keys = class_keys(folder)  # first: a folder refused is said before anything else is done
    if catalog is None:
        from .. import exercises

        catalog, exercise_ids = exercises.catalog(), exercises.exercise_ids()
    state = ClassState(Path(folder), catalog, exercise_ids or sorted({v.exercise for v in catalog.values()}),
                       keys, rate)
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    teacher = [SummaryHandler, CsvHandler, PageHandler]
    settings = {"hub": hub, "xsrf_cookies": False}
    if hub:
        from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated

        teacher = [type("Hub" + h.__name__, (HubLogin, HubOAuthenticated, h), {}) for h in teacher]
        settings["cookie_secret"] = hashlib.sha256(state.keys.teacher.encode()).digest()
    summary, csv, page = teacher
    routes = [
        (prefix, PageHandler, {"state": state, "page": "join.html"}),
        (prefix + "teacher", page, {"state": state, "page": "class.html", "login": True}),
        (prefix + "api/join", JoinHandler, {"state": state}),
        (prefix + "api/report", ReportHandler, {"state": state}),
        (prefix + "api/summary", summary, {"state": state}),
        (prefix + "api/class.csv", csv, {"state": state}),
        (prefix + r"static/(class\.js|class\.css)", StaticHandler, {"path": str(STATIC)}),
    ]
    if hub:
        routes.append((prefix + "oauth_callback", HubOAuthCallbackHandler))
    app = tornado.web.Application(routes, **settings)
    app.class_state = state
    return app
