"""What the teacher's page shows, counted from the stored reports.

A try is a check that judged an answer: "not answered" (the stub) and "stopped" (the stop button)
are not tries. Per exercise, each learner of the class is in one group:

- ``first_try``: the first try was right;
- ``after_tries``: right after one or more wrong tries;
- ``stuck``: three or more wrong tries, none right;
- ``trying``: one or two wrong tries, none right yet;
- ``not_started``: no try yet.
"""

from __future__ import annotations

import time
from collections import defaultdict

NOT_TRIES = ("not-answered", "stopped")
STUCK_AFTER = 3
GROUPS = ("first_try", "after_tries", "stuck", "trying", "not_started")


def group(kinds: list[str]) -> str:
    """The group of a learner whose checks of one exercise gave ``kinds``, in attempt order."""
    tries = [kind for kind in kinds if kind not in NOT_TRIES]
    if not tries:
        return "not_started"
    if "correct" in tries:
        return "first_try" if tries[0] == "correct" else "after_tries"
    return "stuck" if len(tries) >= STUCK_AFTER else "trying"


def summarise(catalog: dict, exercise_ids: list[str], learners: list[tuple[int, str]],
              reports: list[tuple[int, str, str, int, float]], now: float | None = None) -> dict:
    """The page's data: per exercise the groups and the mistakes, per learner what is done and what is stuck."""
    now = time.time() if now is None else now
    history: dict[tuple[int, str], list[tuple[str, float]]] = defaultdict(list)
    for learner, exercise, verdict, _attempt, when in reports:  # already in attempt order
        history[learner, exercise].append((verdict, when))
    exercises = []
    people = {learner: {"id": learner, "name": name, "done": [], "stuck": []} for learner, name in learners}
    for exercise in exercise_ids:
        counts = dict.fromkeys(GROUPS, 0)
        mistakes: dict[str, set[int]] = defaultdict(set)
        for learner in people:
            seen = history.get((learner, exercise), [])
            kinds = [catalog[verdict].kind for verdict, _ in seen]
            where = group(kinds)
            counts[where] += 1
            for verdict, _ in seen:
                if catalog[verdict].kind not in NOT_TRIES + ("correct",):
                    mistakes[verdict].add(learner)
            if where in ("first_try", "after_tries"):
                people[learner]["done"].append(exercise)
            elif where == "stuck":
                wrong = [when for verdict, when in seen if catalog[verdict].kind not in NOT_TRIES]
                people[learner]["stuck"].append({"exercise": exercise, "since": wrong[0],
                                                 "minutes": round((now - wrong[0]) / 60, 1)})
        chart = [{"verdict": verdict, "learners": len(who), "message": catalog[verdict].message,
                  "note": catalog[verdict].note} for verdict, who in mistakes.items()]
        chart.sort(key=lambda bar: (-bar["learners"], bar["verdict"]))
        exercises.append({"exercise": exercise, "groups": counts, "mistakes": chart})
    table = sorted(people.values(), key=lambda p: (min((s["since"] for s in p["stuck"]), default=now), p["id"]))
    return {"learners": len(people), "reports": len(reports), "exercises": exercises, "people": table,
            "groups": list(GROUPS)}
