"""A class on disk: one folder the teacher chooses, holding the class's keys and one SQLite database.

The database is in WAL mode with ``synchronous=FULL``: every report is committed (on disk) before
the server answers, so nothing a learner was told was stored is lost when the server is stopped,
killed (``kill -9``) or restarted. A new class is a new folder. Only known values are stored: the
server checks exercise and verdict ids against the catalog before it calls ``add_report``.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import MnistHelpersError
from ..files import atomic_write

DATABASE = "class.sqlite"
KEYS = "keys.json"
SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    joined REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    learner INTEGER NOT NULL REFERENCES learners(id),
    exercise TEXT NOT NULL,
    verdict TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    time REAL NOT NULL,
    received REAL NOT NULL,
    PRIMARY KEY (learner, exercise, attempt)
);
"""


class ClassFolderError(MnistHelpersError):
    """The class folder cannot be used (one line, saying how to fix it)."""

    exit_status = 2


@dataclass(frozen=True)
class Keys:
    """The class's two keys: ``learner`` can only join and report, ``teacher`` can read the class."""

    learner: str
    teacher: str


def new_key() -> str:
    """A long random key (43 characters, 256 bits), safe in a URL."""
    return secrets.token_urlsafe(32)


def class_keys(folder: Path) -> Keys:
    """The keys of the class in ``folder``, made (and the folder with them) the first time."""
    folder = Path(folder)
    path = folder / KEYS
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            return Keys(learner=stored["learner"], teacher=stored["teacher"])
        except (ValueError, KeyError, TypeError):
            raise ClassFolderError(f"{path} is not a class's keys file: choose another folder for the class "
                                   "(a new class is a new folder)") from None
    if folder.exists() and any(p.name not in (DATABASE,) for p in folder.iterdir()):
        raise ClassFolderError(f"{folder} already holds other files: give the class a new or empty folder")
    keys = Keys(learner=new_key(), teacher=new_key())
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump({"learner": keys.learner, "teacher": keys.teacher}, f)
    path.chmod(0o600)  # the teacher's key reads the class: only its owner may read the file
    return keys


class ClassDatabase:
    """The class's reports, in ``folder``/class.sqlite."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / DATABASE
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise ClassFolderError(f"cannot open the class database {self.path}: {err}") from None

    def close(self) -> None:
        self.db.close()

    def add_learner(self, name: str) -> tuple[int, str]:
        """A new learner called ``name``: their id and the token their reports carry."""
        token = new_key()
        with self.db:
            cursor = self.db.execute("INSERT INTO learners (token, name, joined) VALUES (?, ?, ?)",
                                     (token, name, time.time()))
        return cursor.lastrowid, token

    def learner_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM learners").fetchone()[0]

    def tokens(self) -> dict[str, int]:
        """Every learner's token, to their id."""
        return dict(self.db.execute("SELECT token, id FROM learners"))

    def rename(self, learner: int, name: str) -> None:
        with self.db:
            self.db.execute("UPDATE learners SET name = ? WHERE id = ?", (name, learner))

    def last_attempts(self, learner: int) -> dict[str, int]:
        """The last attempt number stored for each exercise of ``learner``."""
        return dict(self.db.execute("SELECT exercise, MAX(attempt) FROM reports WHERE learner = ? GROUP BY exercise",
                                    (learner,)))

    def add_report(self, learner: int, exercise: str, verdict: str, attempt: int, when: float) -> bool:
        """Store one report, committed before this returns; False (nothing stored) unless ``attempt`` is
        more than every attempt stored for that learner and exercise (a replayed report)."""
        with self.db:
            last = self.db.execute("SELECT MAX(attempt) FROM reports WHERE learner = ? AND exercise = ?",
                                   (learner, exercise)).fetchone()[0]
            if last is not None and attempt <= last:
                return False
            self.db.execute("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?)",
                            (learner, exercise, verdict, attempt, when, time.time()))
        return True

    def learners(self) -> list[tuple[int, str]]:
        return list(self.db.execute("SELECT id, name FROM learners ORDER BY id"))

    def reports(self) -> list[tuple[int, str, str, int, float]]:
        """Every report as (learner, exercise, verdict, attempt, time), in attempt order."""
        return list(self.db.execute("SELECT learner, exercise, verdict, attempt, time FROM reports "
                                    "ORDER BY learner, exercise, attempt"))

    def csv(self) -> str:
        """The class as CSV: one row per report, with the learner's name."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["learner", "name", "exercise", "verdict", "attempt", "time_utc"])
        for row in self.db.execute("SELECT l.id, l.name, r.exercise, r.verdict, r.attempt, r.time FROM reports r "
                                   "JOIN learners l ON l.id = r.learner ORDER BY r.received"):
            learner, name, exercise, verdict, attempt, when = row
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
            writer.writerow([learner, spreadsheet_safe(name), exercise, verdict, attempt, stamp])
        return out.getvalue()


def spreadsheet_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it, never as a formula (a name may start with "=")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
