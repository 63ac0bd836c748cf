"""The CNN's recipe against the one it replaced, trained side by side in one run.

The recipe (``MnistCNN.training``, what notebook 9 and ``python -m mnist_helpers train --model cnn``
use): 2 epochs of SGD with Nesterov momentum and a one-cycle schedule. The baseline is the recipe
before it: 3 epochs at a constant 0.05 with momentum 0.9, then a fourth at 0.005 in a second
``fit`` (so with a fresh optimizer). Each training starts as the CLI's does (seeded weights, freshly
seeded loaders), after an untimed warm-up; the two alternate, each going first in turn, and the
ratio of their median training times is taken within the run. ``python -m benchmarks.cnn`` runs
this part alone and prints its table.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import statistics
import sys
import time

import torch

from mnist_helpers import MnistCNN, ensure_mnist, evaluate, fit, get_test_loader
from mnist_helpers.data import DEFAULT_SEED, DEFAULT_VAL_SIZE, TRAIN_SIZE
from mnist_helpers.training import recipe

from .pipelines import our_loaders

BASELINE = "3 epochs at lr 0.05, momentum 0.9, then 1 at 0.005 (a second `fit`)"


def baseline_training(model: MnistCNN, train_loader, val_loader) -> None:
    """The earlier recipe: a constant rate with momentum, then a last epoch with steps ten times smaller."""
    sgd = functools.partial(torch.optim.SGD, momentum=0.9)
    fit(3, 0.05, model, train_loader, val_loader, opt_func=sgd, progress=False)
    fit(1, 0.005, model, train_loader, val_loader, opt_func=sgd, progress=False)


def recipe_training(model: MnistCNN, train_loader, val_loader) -> None:
    """Today's recipe, as the CLI runs it."""
    training = MnistCNN.training
    fit(training["epochs"], training["lr"], model, train_loader, val_loader, progress=False, **recipe(training))


TRAININGS = {"recipe": recipe_training, "baseline": baseline_training}


def measure(size: int = TRAIN_SIZE, val_size: int = DEFAULT_VAL_SIZE, rounds: int = 2, data_root=None) -> dict:
    """Training seconds (validation passes included, test pass not) and test accuracy of both, ``rounds`` times."""
    test_loader = get_test_loader(data_root=data_root)
    with contextlib.redirect_stdout(io.StringIO()):  # untimed: the first training of a process pays one-time costs
        for train in TRAININGS.values():
            train(MnistCNN(), *our_loaders(1000, 200, data_root=data_root))
    runs = {name: {"seconds": [], "test_acc": []} for name in TRAININGS}
    for round_number in range(rounds):
        order = list(TRAININGS.items())
        for name, train in order if round_number % 2 == 0 else reversed(order):  # each goes first in turn
            torch.manual_seed(DEFAULT_SEED)
            loaders = our_loaders(size, val_size, data_root=data_root)
            model = MnistCNN()
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the epoch lines
                train(model, *loaders)
            runs[name]["seconds"].append(time.perf_counter() - start)
            runs[name]["test_acc"].append(evaluate(model, test_loader)["val_acc"])
            print(f"CNN {name}, round {round_number + 1}/{rounds}: {runs[name]['seconds'][-1]:.1f} s, "
                  f"test accuracy {runs[name]['test_acc'][-1]:.4f}", file=sys.stderr, flush=True)
    medians = {name: statistics.median(run["seconds"]) for name, run in runs.items()}
    return {"recipe": dict(MnistCNN.training), "baseline": BASELINE, "runs": runs, "median_seconds": medians,
            "recipe_over_baseline": medians["recipe"] / medians["baseline"],
            "recipe_test_acc": min(runs["recipe"]["test_acc"])}


def render(results: dict) -> str:
    """The comparison as a Markdown section."""
    r = results["recipe"]
    rows = [f"| {name}: {label} | {results['median_seconds'][name]:.1f} | "
            + ", ".join(f"{acc:.2%}" for acc in results["runs"][name]["test_acc"]) + " |"
            for name, label in (("recipe", f"{r['epochs']} epochs, one-cycle up to lr {r['lr']}, Nesterov momentum "
                                           f"{r['momentum']}"), ("baseline", results["baseline"]))]
    return ("### The CNN's recipe against the earlier one (training seconds, median; test accuracy of each run)\n\n"
            "| training | seconds | test accuracy |\n| --- | --- | --- |\n" + "\n".join(rows)
            + f"\n\nThe recipe trains in {results['recipe_over_baseline']:.2f} of the baseline's time, measured side "
            f"by side in this run ({len(results['runs']['recipe']['seconds'])} rounds, alternating).\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cnn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="trainings of each recipe, alternating (default: 2)")
    parser.add_argument("--data-root", default=None, help="data folder (default: $MNIST_DATA or data/)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    print(render(measure(rounds=args.rounds, data_root=ensure_mnist(args.data_root))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
