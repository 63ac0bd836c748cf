"""The exercise checks: one line whatever the answer does, hints that are not the solution, and the helpers
that the per-notebook tables (tests/answers/nbNN.py, one per exercise module) share.

Each table lists, for every exercise, right answers written in different idioms and typical wrong ones,
each wrong one with the words its own message must contain.
"""

import ast
import json
import re
import signal
import sys
from pathlib import Path

import pytest
import torch
from exercise_tables import MODULES, checks_of, names_of, presses_stop, resolve, stable_softmax, tables

from mnist_helpers.exercises import Exercise, Stopped, Wrong, exercise_ids, is_stub, nb01, nb03, nb04, nb05, nb07, nb09

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


# --- what the tables share -----------------------------------------------------------------------

def right_cases(module, right: dict) -> list:
    return [pytest.param(getattr(module, q), answer, id=f"{module.__name__[-4:]}.{q}-right{i}")
            for q, answers in right.items() for i, answer in enumerate(answers, 1)]


def wrong_cases(module, wrong: dict) -> list:
    return [pytest.param(getattr(module, q), answer, words, [w for _, w in answers if w != words],
                         id=f"{module.__name__[-4:]}.{q}-{words[:40]}")
            for q, answers in wrong.items() for answer, words in answers]


def assert_right(exercise: Exercise, answer, mnist_data) -> None:
    line = exercise.verdict(resolve(answer, mnist_data)).line
    assert line.startswith("Correct"), line


def assert_wrong(exercise: Exercise, answer, words: str, others: list[str], mnist_data) -> None:
    """The verdict is one "Not yet" line with its own message: these words, and none of the others'."""
    line = exercise.verdict(resolve(answer, mnist_data)).line
    assert line.startswith("Not yet: ") and "\n" not in line, line
    assert line.endswith(f"(For a hint, run exercises.{exercise.name}.hint())"), line
    assert words in line, line
    assert not [w for w in others if w in line], line


def test_every_exercise_has_three_right_answers_and_wrong_ones_with_their_own_messages():
    for name, table in tables().items():
        assert list(table.RIGHT) == list(table.WRONG) == names_of(name), name
        for q in names_of(name):
            words = [w for _, w in table.WRONG[q]]
            assert len(words) == len(set(words)), f"{name}.{q}: two wrong answers expect the same words"
            assert len(table.RIGHT[q]) >= 3 and len(words) >= 3, f"{name}.{q}"
    assert sum(len(names_of(name)) for name in MODULES) == len(exercise_ids())


# --- one line, whatever the answer does ------------------------------------------------------------

def stub(*args):
    """What the student edition leaves: a docstring and ..."""
    ...


def test_stubs_and_missing_answers_are_not_answered_yet():
    assert is_stub(stub) and not is_stub(assert_right)
    for exercise, answer in [(nb01.q1, ...), (nb01.q1, None), (nb03.q1, stub), (nb04.q2, stub), (nb07.q1, stub),
                             (nb07.q2, stub)]:
        assert exercise.verdict(answer).line.startswith("Not answered yet"), exercise.name


def test_a_stub_run_without_its_source_is_still_not_answered_yet():
    namespace = {}
    exec('def softmax(outputs):\n    """Doc."""\n    ...\ndef double(x):\n    return 2 * x\n'
         'def four(x):\n    return 4\n', namespace)
    assert is_stub(namespace["softmax"]) and not is_stub(namespace["double"]) and not is_stub(namespace["four"])
    assert nb04.q2.verdict(namespace["softmax"]).line.startswith("Not answered yet")


def ends_the_program(outputs):
    sys.exit(1)


def exits(outputs):
    exit()


def raises_keyboardinterrupt(outputs):
    raise KeyboardInterrupt


def raises_generatorexit(outputs):
    raise GeneratorExit


class Custom(BaseException):
    pass


def raises_a_baseexception(outputs):
    raise Custom("a message\non two lines")


def crashes(outputs):
    return outputs / 0 + undefined_name  # noqa: F821


@pytest.mark.parametrize("answer, words", [
    (ends_the_program, "ends_the_program called sys.exit()"), (exits, "called sys.exit()"),
    (raises_keyboardinterrupt, "raised KeyboardInterrupt"), (raises_generatorexit, "raised GeneratorExit"),
    (raises_a_baseexception, "raised Custom (a message on two lines)"), (crashes, "raised NameError"),
])
def test_whatever_the_answer_raises_the_check_answers_in_one_line(answer, words, capsys, recwarn):
    before = signal.getsignal(signal.SIGINT)
    line = nb04.q2.verdict(answer).line
    assert line.startswith("Not yet: ") and words in line and "\n" not in line and "Traceback" not in line, line
    assert "hint()" in line
    nb04.q2.check(answer)
    assert capsys.readouterr().out == line + "\n" and not recwarn.list
    assert signal.getsignal(signal.SIGINT) is before


def test_a_value_that_breaks_the_check_itself_gets_one_line():
    class Hostile(float):
        def __float__(self):
            raise SystemExit

    line = nb01.q1.verdict(Hostile(6265.0)).line
    assert line.startswith("Not yet: ") and "sys.exit()" in line and "\n" not in line, line


def test_an_answer_that_changes_its_input_gets_its_own_message_and_is_judged_on_the_original():
    def softmax(outputs):
        outputs -= outputs.max(dim=1, keepdim=True).values  # right values, but the caller's outputs change
        return torch.exp(outputs) / torch.exp(outputs).sum(dim=1, keepdim=True)

    assert "changed the tensor it was given" in nb04.q2.verdict(softmax).line


def test_the_stop_button_stops_the_check_with_one_line_and_later_checks_stay_right():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(Stopped) as stopped:
        nb04.q2.verdict(presses_stop)
    assert isinstance(stopped.value, KeyboardInterrupt)  # still an interrupt: a notebook's run stops there
    rendered = stopped.value._render_traceback_()  # what IPython shows instead of a traceback
    assert len(rendered) == 1 and rendered[0].startswith("Stopped: ") and "\n" not in rendered[0]
    assert signal.getsignal(signal.SIGINT) is before
    assert nb04.q2.verdict(stable_softmax).line.startswith("Correct")
    assert nb04.q2.verdict(raises_keyboardinterrupt).line.startswith("Not yet")  # raised by the answer, not the button


def test_a_check_leaves_the_notebooks_random_state_and_gradient_mode_as_they_were():
    import torch.nn.functional as F

    def train_step(model, images, labels, optimizer):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch.no_grad():  # a notebook left in no_grad: the check still trains, with gradients on
        assert nb05.q1.verdict(train_step).line.startswith("Correct")
        assert not torch.is_grad_enabled()
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("args, kwargs, words", [
    ((), {}, "Give the check your answer, one value: exercises.q2.check(softmax)"),
    ((stable_softmax, stable_softmax), {}, "The check takes one answer, not 2: exercises.q2.check(softmax)"),
])
def test_check_called_without_its_answer_or_with_two_says_how_to_call_it(args, kwargs, words, capsys):
    nb04.q2.check(*args, **kwargs)
    assert capsys.readouterr().out == words + "\n"
    nb04.q2.check(answer=stable_softmax)
    assert capsys.readouterr().out.startswith("Correct")


def test_the_readme_shows_a_real_verdict():
    def softmax(outputs):
        return torch.exp(outputs) / torch.exp(outputs).sum(dim=1, keepdim=True)

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert nb04.q2.verdict(softmax).line in readme.splitlines()


def test_a_real_kernel_stopped_during_a_check_shows_one_line_and_keeps_working():
    """The kernel's stop button (an interrupt request) during an endless answer, in a real Jupyter kernel."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        def run(code: str, until_output: str | None = None, interrupt: bool = False) -> list[dict]:
            msg_id, outputs = client.execute(code), []
            while True:
                msg = client.get_iopub_msg(timeout=120)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] in ("stream", "error"):
                    outputs.append(msg["content"])
                    if interrupt and until_output and until_output in msg["content"].get("text", ""):
                        manager.interrupt_kernel()
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return outputs

        run("import torch\nfrom mnist_helpers.exercises import nb04 as exercises\n"
            "def endless(outputs):\n    print('running', flush=True)\n    while True:\n        pass\n"
            "def softmax(outputs):\n    e = torch.exp(outputs - outputs.max(dim=1, keepdim=True).values)\n"
            "    return e / e.sum(dim=1, keepdim=True)\n")
        outputs = run("exercises.q2.check(endless)\nprint('went on')", until_output="running", interrupt=True)
        errors = [o for o in outputs if "traceback" in o]
        assert len(errors) == 1 and len(errors[0]["traceback"]) == 1, outputs
        assert errors[0]["traceback"][0].startswith("Stopped: ") and errors[0]["ename"] == "Stopped"
        assert not any("went on" in o.get("text", "") for o in outputs)  # the run stopped there
        correct = nb04.q2.verdict(stable_softmax).line
        assert run("exercises.q2.check(softmax)") == [{"name": "stdout", "text": correct + "\n"}]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


# --- hints -------------------------------------------------------------------------------------------

def solutions() -> dict[str, list[str]]:
    """Each exercise's reference solution lines ("nb04.q2": [...]), read from the notebooks' solution cells."""
    found = {}
    for path in sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")):
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                 if "solution" in c["metadata"].get("tags", [])]
        for number, cell in enumerate(cells, 1):
            lines, inside = [], False
            for line in "".join(cell["source"]).splitlines():
                if "# BEGIN SOLUTION" in line or "# END SOLUTION" in line:
                    inside = "# BEGIN SOLUTION" in line
                elif inside or "# SOLUTION" in line:
                    code = re.sub(r"\s*#.*$", "", line).strip()
                    if code:
                        lines.append(code)
            found[f"nb{path.name[:2]}.q{number}"] = lines
    return found


def key_expressions(line: str) -> set[str]:
    """The line and each computation in it (a call, an operation, an index...) of ten characters or more,
    also without its leading name ("images.reshape(-1, 784)" gives "reshape(-1,784)"), without spaces."""
    squeeze = lambda text: re.sub(r"\s+", "", text).replace('"', "'")  # noqa: E731
    code = line.removeprefix("return ").strip()
    found = {squeeze(code)}
    try:
        tree = ast.parse(code)
    except SyntaxError:  # a line that opens a block: "with torch.no_grad():"
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):  # computations, not bare names such as dataset.targets that the task gives
        if isinstance(node, (ast.Call, ast.BinOp, ast.Compare, ast.Subscript, ast.BoolOp, ast.Dict, ast.Lambda)):
            text = squeeze(ast.unparse(node))
            found.add(text)
            found.add(re.sub(r"^[A-Za-z_]\w*\.", "", text))
    return {text for text in found if len(text) >= 10}


def test_no_hint_holds_a_line_or_a_key_expression_of_the_solution():
    hints = {f"{name}.{q}": getattr(checks_of(name), q)._hint for name in MODULES for q in names_of(name)}
    found = solutions()
    assert set(found) == set(hints)
    for exercise, lines in found.items():
        hint = re.sub(r"\s+", "", hints[exercise]).replace('"', "'")
        assert "def" not in hints[exercise].split(), exercise
        leaks = [text for line in lines for text in key_expressions(line) if text in hint]
        assert not leaks, f"the hint of {exercise} gives away {leaks}"


def test_the_hint_test_would_catch_the_old_hints():
    old = "x.clamp(min=0), or torch.where(x > 0, x, 0)."
    assert any(text in re.sub(r"\s+", "", old) for text in key_expressions("return x.clamp(min=0)"))


def test_hint_prints_one_hint(capsys):
    nb04.q2.hint()
    printed = capsys.readouterr().out
    assert printed.startswith("Hint: ") and printed.count("\n") == 1


def test_each_check_names_the_answer_its_notebook_checks():
    for path in sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")):
        checks = checks_of(f"nb{path.name[:2]}")
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if "check" in cell["metadata"].get("tags", []):
                q, name = re.fullmatch(r"exercises\.(q\d)\.check\((\w+)\)", "".join(cell["source"]).strip()).groups()
                assert getattr(checks, q).answer_name == name, (path.name, q)


def test_wrong_is_the_learners_message():
    assert str(Wrong("a message")) == "a message"


def test_the_notebooks_reference_functions_are_correct():
    """The solution cells that define a function, run as the notebook runs them, pass their checks."""
    import torch.nn.functional as F
    from torch import nn

    for path in sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")):
        checks, namespace = checks_of(f"nb{path.name[:2]}"), {"torch": torch, "F": F, "nn": nn}
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                 if "solution" in c["metadata"].get("tags", [])]
        for q, cell in zip(names_of(f"nb{path.name[:2]}"), cells, strict=True):
            source = "".join(cell["source"])
            if source.lstrip().startswith("def "):
                exec(source, namespace)  # the teacher edition's own code
                exercise = getattr(checks, q)
                assert exercise.verdict(namespace[exercise.answer_name]).line.startswith("Correct"), (path.name, q)


# --- every module's table ------------------------------------------------------------------------

def every_right_answer() -> list:
    return [case for name, table in tables().items() for case in right_cases(checks_of(name), table.RIGHT)]


def every_wrong_answer() -> list:
    return [case for name, table in tables().items() for case in wrong_cases(checks_of(name), table.WRONG)]


@pytest.mark.parametrize("exercise, answer", every_right_answer())
def test_right_answers_are_correct(exercise, answer, mnist_data):
    assert_right(exercise, answer, mnist_data)


@pytest.mark.parametrize("exercise, answer, words, others", every_wrong_answer())
def test_wrong_answers_get_their_own_message(exercise, answer, words, others, mnist_data):
    assert_wrong(exercise, answer, words, others, mnist_data)


def test_the_student_editions_class_is_not_answered_yet():
    from answers.nb03 import Stub

    assert nb03.q3.verdict(Stub).line.startswith("Not answered yet")


def test_the_counting_mistakes_of_9_1_are_told_apart_on_the_cases_checked():
    """Each counting mistake of 9.1 gives its own numbers on the check's cases, so its message can be chosen."""
    from answers.nb09 import positions_by_conv2d

    cases = nb09.SIZE_CASES
    assert [positions_by_conv2d(*case) for case in cases] == [(n + 2 * p - k) // s + 1 for n, k, p, s in cases]
    gives = [tuple(mistake(*case) for case in cases) for mistake, _, _ in nb09.SIZE_MISTAKES]
    assert len(set(gives)) == len(gives)


def test_the_labels_go_easy_medium_stretch_within_each_notebook():
    order = ["easy", "medium", "stretch"]
    for path in sorted(NOTEBOOKS.glob("0[1-9]_*.ipynb")):
        titles = [re.match(r"### Exercise (\d+\.\d+): .*\((\w+)\)\s*$", "".join(c["source"]).splitlines()[0])
                  for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                  if "".join(c["source"]).startswith("### Exercise")]
        labels = [title.group(2) for title in titles]
        assert len(labels) == len(names_of(f"nb{path.name[:2]}")) and set(labels) <= set(order), path.name
        assert labels == sorted(labels, key=order.index), (path.name, labels)


def test_an_exercise_takes_its_name_and_id_from_its_module(monkeypatch):
    """Declared by keyword, once: the module's name for it gives the exercise's name and its verdicts' ids."""
    import types

    module = types.ModuleType("mnist_helpers.exercises.nb42")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec("from mnist_helpers.exercises import Exercise, Wrong\n"
         "def _judge(answer):\n"
         "    if answer != 42:\n"
         "        raise Wrong('not the answer', 'off-by-some')\n"
         "    return 'the answer'\n"
         "q7 = Exercise(judge=_judge, hint='think', answer='answer', mistakes={'off-by-some': 'Count again.'})\n",
         module.__dict__)
    assert (module.q7.name, module.q7.exercise) == ("q7", "42.7")
    assert module.q7.verdict(42).id == "42.7/correct" and module.q7.verdict(41).id == "42.7/off-by-some"
    assert "exercises.q7.hint()" in module.q7.verdict(41).line
    with pytest.raises(TypeError):  # every setting by keyword
        Exercise(module._judge, "think")
