"""Verdict ids: every verdict a check gives has a stable id, a message and a teacher's note, and reaches reporters."""

import ast
import inspect
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from exercise_tables import checks_of, presses_stop, resolve, stable_softmax, tables
from torch import nn

from mnist_helpers import exercises
from mnist_helpers.exercises import Verdict, catalog, exercise_ids, nb01, nb03, nb04, nb08, nb09
from mnist_helpers.exercises.registry import exercises_of, modules, teaching_notes
from mnist_helpers.exercises.verdicts import GENERIC, KIND, STRUCTURAL

ROOT = Path(__file__).resolve().parent.parent
IDS = Path(__file__).resolve().parent / "verdict_ids.txt"


def test_the_catalog_holds_each_id_once_with_its_message_and_note():
    every = catalog()
    assert exercise_ids() == [e.exercise for m in modules() for e in exercises_of(m)]
    assert exercise_ids()[:2] == ["01.1", "01.2"] and len(set(exercise_ids())) == len(exercise_ids())
    for full, info in every.items():
        assert info.id == full == f"{info.exercise}/{info.kind}" and KIND.fullmatch(info.kind), full
        assert info.exercise in exercise_ids() and info.message.strip() and info.note.strip(), full
    for exercise in exercise_ids():
        assert {f"{exercise}/{kind}" for kind in GENERIC} <= set(every)


def test_the_ids_are_those_committed_so_renaming_one_fails():
    """tests/verdict_ids.txt lists every id: a class's counts from before a change must still add up after it."""
    committed = IDS.read_text(encoding="utf-8").split()
    assert committed == sorted(committed) and len(committed) == len(set(committed))
    assert sorted(catalog()) == committed, "ids changed: keep the old ids; add new ones to tests/verdict_ids.txt"


def test_no_mistake_reuses_a_generic_kind_and_every_raised_kind_is_declared():
    for module in modules():
        declared = {kind for exercise in exercises_of(module) for kind in exercise.mistakes}
        assert not declared & set(GENERIC), module.__name__
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            kind = None
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Wrong" and len(node.args) == 2:
                kind = node.args[1]
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "explain":
                rows = node.args[1].elts if isinstance(node.args[1], ast.List) else []
                assert all(isinstance(row, ast.Tuple) and len(row.elts) == 3 for row in rows), module.__name__
                for row in rows:
                    assert isinstance(row.elts[1], ast.Constant) and row.elts[1].value in declared, ast.unparse(row)
            if kind is not None and isinstance(kind, ast.Constant):
                assert kind.value in declared | set(STRUCTURAL) | set(GENERIC), (module.__name__, kind.value)


def wrong_answers():
    return [pytest.param(name, q, answer, words, words in table.NOT_YET.get(q, []), id=f"{name}.{q}-{words[:40]}")
            for name, table in tables().items() for q, answers in table.WRONG.items() for answer, words in answers]


@pytest.mark.parametrize("name, q, answer, words, unnamed", wrong_answers())
def test_every_typical_mistake_in_the_tables_gets_its_own_id(name, q, answer, words, unnamed, mnist_data):  # noqa: F811
    exercise = getattr(checks_of(name), q)
    verdict = exercise.verdict(resolve(answer, mnist_data))
    assert verdict.id in catalog() and verdict.exercise == exercise.exercise, verdict
    assert (verdict.kind == "not-yet") == unnamed, verdict


def test_the_not_yet_lists_name_only_wrong_answers_of_their_table():
    for name, table in tables().items():
        for q, words in table.NOT_YET.items():
            assert set(words) <= {w for _, w in table.WRONG[q]}, (name, q)


def test_teaching_md_holds_every_id_with_its_note():
    text = (ROOT / "TEACHING.md").read_text(encoding="utf-8")
    assert teaching_notes() in text, "run python -m mnist_helpers.exercises.registry and paste its output at the end"
    flat = " ".join(text.split())
    for info in catalog().values():
        shown = f"`{info.id}`" if info.kind in exercises_of_id(info.exercise).mistakes else f"`NN.N/{info.kind}`"
        assert f"{shown}: {' '.join(info.note.split())}" in flat, info.id


def exercises_of_id(exercise_id: str):
    return next(e for m in modules() for e in exercises_of(m) if e.exercise == exercise_id)


def test_check_prints_the_line_returns_the_verdict_and_displays_nothing_more(capsys):
    verdict = nb04.q2.check(stable_softmax)
    assert isinstance(verdict, Verdict) and verdict.id == "04.2/correct" and verdict.kind == "correct"
    assert capsys.readouterr().out == verdict.line + "\n" and str(verdict) == verdict.line
    assert verdict._ipython_display_() is None
    assert nb04.q2.check(...).id == "04.2/not-answered"
    assert nb04.q2.check(lambda x: x / 0 + undefined).id == "04.2/raised"  # noqa: F821
    assert nb04.q2.check(lambda x: torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)).id == "04.2/no-shift"


def test_a_real_kernel_shows_only_the_printed_line_for_a_check_at_the_end_of_a_cell():
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    outputs = []
    try:
        reply = client.execute_interactive("from mnist_helpers.exercises import nb01 as exercises\n"
                                           "exercises.q1.check(...)", timeout=120,
                                           output_hook=lambda msg: outputs.append(msg))
        assert reply["content"]["status"] == "ok"
        shown = [m for m in outputs if m["msg_type"] in ("stream", "execute_result", "display_data", "error")]
        assert [m["msg_type"] for m in shown] == ["stream"], shown
        assert shown[0]["content"]["text"].startswith("Not answered yet")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_reporters_get_each_verdict_once_and_a_failing_one_changes_nothing(capsys, monkeypatch):
    heard = []

    def failing(verdict):
        raise RuntimeError("the class server is down")

    monkeypatch.setattr(exercises, "reporters", [failing, heard.append, failing])
    verdict = nb04.q2.check(stable_softmax)
    assert heard == [verdict] and capsys.readouterr().out == verdict.line + "\n"
    nb01.q1.check("6265")
    assert [v.exercise for v in heard] == ["04.2", "01.1"] and heard[1].kind == "not-a-number"
    nb01.q1.check()  # no answer: says how to call the check, and reports nothing
    assert len(heard) == 2


def test_the_stop_button_is_reported_as_stopped(monkeypatch):

    heard = []
    monkeypatch.setattr(exercises, "reporters", [heard.append])
    with pytest.raises(exercises.Stopped):
        nb04.q2.check(presses_stop)
    assert [v.id for v in heard] == ["04.2/stopped"]


# --- what an answer changes in the notebook is put back ------------------------------------------

def changes_everything(outputs):
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    np.random.seed(1)
    random.seed(1)
    torch.manual_seed(1)
    return stable_softmax(outputs)


def changes_everything_then_raises(outputs):
    changes_everything(outputs)
    raise ValueError("after changing the global state")


@pytest.mark.parametrize("answer, kind", [(changes_everything, "correct"), (changes_everything_then_raises, "raised")])
def test_a_check_puts_back_the_global_state_the_answer_changed(answer, kind):
    np.random.seed(5)
    random.seed(5)
    expected = np.random.rand(), random.random()
    np.random.seed(5)
    random.seed(5)
    assert nb04.q2.verdict(answer).kind == kind
    assert torch.get_default_dtype() == torch.float32 and torch.is_grad_enabled()
    assert (np.random.rand(), random.random()) == expected
    with torch.no_grad():  # a notebook in no_grad stays in it
        nb04.q2.verdict(answer)
        assert not torch.is_grad_enabled()


def test_a_huge_answer_is_refused_by_its_shape_before_any_copy(monkeypatch):
    copies = []
    monkeypatch.setattr(exercises, "_float64_copy", lambda tensor: copies.append(tensor.shape) or tensor.double())
    huge = torch.zeros(1).expand(10**8)  # 10^8 numbers that take no memory
    for exercise in (nb01.q2, nb01.q3, nb04.q1):
        verdict = exercise.verdict(huge if exercise is not nb04.q1 else lambda outputs: huge)
        assert "[100000000]" in verdict.line, verdict
        assert verdict.kind in ("wrong-shape", "wrong-dimension", "too-large"), verdict
    assert copies == []



# --- "without X": judged by what the answer calls, and everything put back ------------------------

def relu_imported_by_name(x):
    from torch.nn.functional import relu

    return relu(x)


def convolve_with_a_layer(image, kernel):
    layer = nn.Conv2d(1, 1, kernel.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(kernel[None, None])
    return layer(image[None, None])[0, 0].detach()


@pytest.mark.parametrize("exercise, answer, kind", [
    (nb03.q1, lambda i, o: sum(p.numel() for p in nn.Linear(i, o).parameters()), "uses-nn-linear"),
    (nb03.q1, lambda i, o: sum(p.numel() for p in nn.Sequential(nn.Linear(i, o)).parameters()), "uses-nn-linear"),
    (nb08.q2, F.relu, "uses-f-relu"),
    (nb08.q2, torch.relu, "uses-f-relu"),
    (nb08.q2, lambda x: x.relu(), "uses-f-relu"),
    (nb08.q2, lambda x: x.clone().relu_(), "uses-f-relu"),
    (nb08.q2, lambda x: nn.ReLU()(x), "uses-f-relu"),
    (nb08.q2, relu_imported_by_name, "uses-f-relu"),
    (nb09.q2, lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0], "uses-f-conv2d"),
    (nb09.q2, lambda image, kernel: torch.conv2d(image[None, None], kernel[None, None])[0, 0], "uses-f-conv2d"),
    (nb09.q2, convolve_with_a_layer, "uses-f-conv2d"),
    (nb09.q3, lambda maps: F.max_pool2d(maps, 2), "uses-f-max-pool2d"),
    (nb09.q3, lambda maps: nn.MaxPool2d(kernel_size=2, stride=2)(maps), "uses-f-max-pool2d"),
    (nb09.q3, lambda maps: torch.max_pool2d(maps, 2), "uses-f-max-pool2d"),
])
def test_a_right_answer_that_uses_what_the_task_forbids_is_not_yet(exercise, answer, kind):
    verdict = exercise.verdict(answer)
    assert verdict.kind == kind and verdict.line.startswith("Not yet: this exercise is to write it without `"), verdict


@pytest.mark.parametrize("exercise, answer", [
    (nb08.q2, lambda x: x.clamp(min=0)),  # clamp and where are what the hint suggests: allowed
    (nb08.q2, lambda x: torch.where(x > 0, x, 0.0)),
    (nb09.q3, lambda maps: maps.unfold(1, 2, 2).unfold(2, 2, 2).amax(dim=(-2, -1))),
])
def test_what_the_task_allows_stays_correct(exercise, answer):
    assert exercise.verdict(answer).kind == "correct"


def forbidden_state():
    return (F.relu, torch.relu, torch.relu_, "relu" in vars(torch.Tensor), torch.Tensor.relu, F.conv2d, torch.conv2d,
            F.max_pool2d, torch.max_pool2d, vars(nn.Linear)["__init__"])


def raises_after_relu(x):
    F.relu(x)
    raise ValueError("after calling F.relu")


def presses_stop_after_relu(x):

    x.relu()
    presses_stop(x)


@pytest.mark.parametrize("exercise, answer", [(nb08.q2, F.relu), (nb08.q2, raises_after_relu), (nb03.q1, ...),
                                              (nb09.q2, lambda image, kernel: F.conv2d(image, kernel))])
def test_the_forbidden_functions_are_put_back_however_the_check_ends(exercise, answer):
    before = forbidden_state()
    exercise.verdict(answer)
    assert forbidden_state() == before
    with pytest.raises(exercises.Stopped):
        nb08.q2.verdict(presses_stop_after_relu)
    assert forbidden_state() == before
    assert F.relu(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]


def test_the_checks_own_use_of_a_forbidden_function_does_not_count():
    """9.2's check computes its truth with F.conv2d: a right answer by hand stays correct."""
    def convolve(image, kernel):
        rows, cols = image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1
        return torch.stack([torch.stack([(image[i:i + len(kernel), j:j + len(kernel)] * kernel).sum()
                                         for j in range(cols)]) for i in range(rows)])

    assert nb09.q2.verdict(convolve).kind == "correct"
