"""What the exercise tests share: the answer tables' helpers, a right softmax, and a press of the stop button."""

from __future__ import annotations

import importlib
import signal

import torch

from mnist_helpers.exercises.registry import exercises_of, modules

MODULES = [module.__name__.rpartition(".")[2] for module in modules()]  # "nb01", ...


class From:
    """An answer computed from MNIST (the exercises whose answer is a value): ``make(data)``, where
    ``data`` is ``((images, labels), (test_images, test_labels))``."""

    def __init__(self, make):
        self.make = make


def resolve(answer, mnist_data):
    return answer.make(mnist_data) if isinstance(answer, From) else answer


def checks_of(name: str):
    """The checks of one notebook: checks_of("nb04") is mnist_helpers.exercises.nb04."""
    return importlib.import_module(f"mnist_helpers.exercises.{name}")


def tables():
    """Every notebook's (RIGHT, WRONG) tables."""
    return {name: importlib.import_module(f"answers.{name}") for name in MODULES}


def names_of(name: str) -> list[str]:
    """The names of a module's exercises, in order: names_of("nb04") is ["q1", "q2", "q3"]."""
    return [exercise.name for exercise in exercises_of(checks_of(name))]


def stable_softmax(outputs):
    exps = torch.exp(outputs - outputs.max(dim=1, keepdim=True).values)
    return exps / exps.sum(dim=1, keepdim=True)


def presses_stop(outputs):
    """What the kernel's stop button does while the learner's code runs: a SIGINT arrives."""
    signal.raise_signal(signal.SIGINT)
    while True:
        pass
