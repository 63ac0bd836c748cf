"""What the class-view tests share: a small catalog of verdicts, hostile learner names, and one HTTP call."""

from __future__ import annotations

import collections
import json
import urllib.error
import urllib.request

Info = collections.namedtuple("Info", "exercise id kind message note")
FAKE = {info.id: info for info in [
    Info("05.2", "05.2/correct", "correct", "Correct!", ""),
    Info("05.2", "05.2/not-answered", "not-answered", "Not answered yet", ""),
    Info("05.2", "05.2/zero-grad-missing", "zero-grad-missing", "Not yet: the gradients add up",
         "Remind the class that backward() adds to .grad: zero it every step."),
    Info("05.2", "05.2/not-yet", "not-yet", "Not yet", ""),
    Info("04.2", "04.2/correct", "correct", "Correct!", ""),
    Info("04.2", "04.2/no-shift", "no-shift", "Not yet: exp overflows", "Subtract the maximum before exp."),
    Info("04.2", "04.2/raised", "raised", "Not yet: your code raised", ""),
]}
EXERCISES = ["04.2", "05.2"]
NAMES = ["<script>alert(1)</script>", "<b>bold</b> &amp;", "שלום עולם", "مرحبا", "\u202eevil", "🦊 fox 🚀", "Ada"]


def http(url: str, body=None, key: str | None = None, method: str | None = None, raw: bytes | None = None):
    """(status, parsed JSON or text) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as err:
        text, status = err.read().decode(), err.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text
