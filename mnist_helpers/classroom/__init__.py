"""The class at a glance: a live view of the room for the teacher, counted mistake by mistake.

- ``client``: the learner's side, ``join_class`` (re-exported by ``mnist_helpers.exercises``);
- ``server``: the class server (Tornado) and its checks on everything it is sent;
- ``storage``: the class folder, its keys and its SQLite database;
- ``summary``: what the teacher's page shows, counted from the reports;
- ``teacher``: ``python -m mnist_helpers class``, also as a JupyterHub service;
- ``static/``: the teacher's page (HTML, JS, CSS), served by the server, nothing from outside.
"""

from .client import join_class

__all__ = ["join_class"]
