"""The command line: ``python -m mnist_helpers train``, ``... notebooks`` (the readiness check), ``... student``,
``... site``, ``... class`` and ``... review``.

Each subcommand is one function below that adds its parser and, with ``set_defaults(run=...)``, the function
that runs it (taking the parsed arguments, returning the exit status); ``SUBCOMMANDS`` lists them in the order
``--help`` shows them. A refusal or failure is a ``MnistHelpersError`` (errors.py): ``main`` prints it as one
``error:`` line and exits with its ``exit_status``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import zipfile
from pathlib import Path

from .data import DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_VAL_SIZE, TRAIN_SIZE
from .device import CHOICES, pick_device
from .download import DATASETS
from .errors import Interrupted, MnistHelpersError
from .files import check_can_create, nearest_existing
from .model import MODELS, TRAINING

# Each model's training when --epochs and --lr are not given (README) is its class's ``training`` (model.py):
# the linear model's best settings (about 92.5% test accuracy in a few seconds); for the CNN, notebook 9's
# recipe, SGD with Nesterov momentum and a one-cycle schedule over 2 epochs (over 99% test accuracy).
MAX_SEED = 2**64 - 1  # torch.manual_seed takes 0 to 2**64 - 1 (a negative seed wraps around to the same values)


def _whole_number(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _data_folder(text: str) -> str:
    """A data folder: an existing folder, or one that can be made (nothing above it is a file)."""
    found = nearest_existing(text)
    if not found.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder ({found} is a file): give the folder that holds "
                                         "(or will hold) MNIST")
    return text


def _is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a file ``torch.save`` wrote: a zip archive holding a ``data.pkl``."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _checkpoint_path(text: str) -> Path:
    """Where to save the model: a file name in a folder that can be written, and no file of the user's replaced."""
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name, for example {path / 'model.pt'}")
    if path.exists() and not _is_checkpoint(path):
        raise argparse.ArgumentTypeError(f"{text} exists and is not a checkpoint: choose another name "
                                         "(only a checkpoint is replaced)")
    try:
        check_can_create(path)
    except OSError as err:
        raise argparse.ArgumentTypeError(f"cannot save to {text}: no file can be made in "
                                         f"{nearest_existing(path.parent)} ({err.strerror or err}); choose a folder "
                                         "you can write") from None
    return path


class Refused(MnistHelpersError):
    """Options that argparse cannot judge alone (two that contradict each other): nothing ran."""

    exit_status = 2


def _per_model(key: str, more: str = "") -> str:
    """The CLI's default for training setting ``key``, and the models whose own default differs."""
    others = [f"with --model {name}: {model.training[key]}" + more.format(**model.training)
              for name, model in MODELS.items() if model.training[key] != TRAINING[key]]
    return f"(default: {'; '.join([str(TRAINING[key]), *others])})"


def train_command(commands) -> None:
    train = commands.add_parser("train", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                help="train a model on MNIST (or Fashion-MNIST) and report validation and test metrics",
                                description="Train one of the series' models (" + ", ".join(
                                    model.__name__ for model in MODELS.values()) + ") on MNIST or Fashion-MNIST, "
                                "headless.")
    train.add_argument("--model", choices=list(MODELS), default="linear",
                       help="; ".join(f"{name}: {model.about}" for name, model in MODELS.items()))
    train.add_argument("--dataset", choices=list(DATASETS), default="mnist", help="the images to learn")
    train.add_argument("--device", choices=list(CHOICES), default="auto",
                       help="where to compute: auto picks cuda, then mps, then cpu, but keeps the " + " and the ".join(
                           f"{name} model" for name, model in MODELS.items() if not model.accelerated)
                       + " on the cpu (too little work per batch to gain from a GPU)")
    # No default here (each model has its own, said in the help): left out, they are absent from the arguments.
    train.add_argument("--epochs", type=_whole_number(1), default=argparse.SUPPRESS,
                       help=f"passes over the training set {_per_model('epochs')}")
    train.add_argument("--lr", type=_learning_rate, default=argparse.SUPPRESS,
                       help="learning rate of SGD (with a one-cycle schedule: its peak) " + _per_model(
                           "lr", ", momentum {momentum}, Nesterov {nesterov}, one-cycle schedule {one_cycle}"))
    train.add_argument("--batch-size", type=_whole_number(1), default=DEFAULT_BATCH_SIZE,
                       help="images per training step")
    train.add_argument("--val-size", type=_whole_number(1, TRAIN_SIZE - 1), default=DEFAULT_VAL_SIZE,
                       help="training images held out for validation")
    train.add_argument("--seed", type=_whole_number(0, MAX_SEED), default=DEFAULT_SEED,
                       help="seed for the split, the shuffling and the initial weights, from 0 to 2**64 - 1")
    train.add_argument("--data-root", type=_data_folder, default=None,
                       help="data folder (default: $MNIST_DATA, else data/ in the repository, else "
                            "~/.cache/mnist_helpers)")
    train.add_argument("--save", metavar="PATH", type=_checkpoint_path, default=None,
                       help="save the trained model as a checkpoint at PATH (an existing file there is replaced "
                            "only if it is a checkpoint)")
    train.add_argument("--json", action="store_true",
                       help="print the results as one JSON object on the last line of stdout")
    train.set_defaults(run=run_train)


def notebooks_command(commands) -> None:
    from .course.outputs import TOLERANCE

    notebooks = commands.add_parser(  # each default is in its help: most are "None" otherwise
        "notebooks",
        help="run the notebook series and check its outputs against the course (the readiness check)",
        description="Execute every notebook of the course top to bottom into a build folder, leaving the notebooks "
                    "untouched, and print a table: seconds, headline result, and how the outputs compare with the "
                    "stored notebooks: identical, the same within floating-point noise (every word and whole number "
                    f"equal, decimals within {TOLERANCE:g}, or {TOLERANCE:.1%} of their size above 1), or different "
                    "(the cell and the first differing value). Exit status 1 if a notebook fails (or, with --strict, "
                    "if its outputs are different); 2 if the run cannot start (a folder refused, a notebook that "
                    "cannot be read).")
    notebooks.add_argument("names", nargs="*", help="notebooks to run, for example 05_train (default: all of them)")
    _notebooks_option(notebooks, "the course's notebooks")
    _jobs_and_timeout(notebooks, 1200)
    notebooks.add_argument("--out", type=Path, default=None,
                           help="folder for the executed notebooks: new, empty, or written by an earlier run (which "
                                "is replaced), and outside the notebooks' folder (default: build/notebooks in the "
                                "repository, else ~/.cache/mnist_helpers/executed-notebooks)")
    notebooks.add_argument("--strict", action="store_true",
                           help="exit with status 1 if any notebook's outputs are different (floating-point noise "
                                "is not a difference)")
    notebooks.add_argument("--class-size", type=_whole_number(1), default=None, metavar="N",
                           help="end with the settings of a JupyterHub for N learners at once (memory, CPU, "
                                "OMP_NUM_THREADS), sized from each kernel's measured peak memory")
    notebooks.add_argument("--in-place", action="store_true",
                           help="for maintainers: store the fresh outputs in the notebooks themselves "
                                "(refuses stderr output)")
    notebooks.set_defaults(run=run_notebooks)


def student_command(commands) -> None:
    student = commands.add_parser(
        "student",  # no "(default: ...)" added: each help says what happens without the option
        help="build the student edition of the notebooks (answers replaced by stubs)",
        description="Write the notebooks with every exercise's solution replaced by a stub and the outputs of "
                    "solution and check cells removed. Stops, naming the notebook and cell, if any solution text "
                    "or marker would reach the students. Exit status 2 if the edition cannot be built. "
                    "See TEACHING.md.")
    student.add_argument("--out", type=Path, required=True,
                         help="a new or empty folder to write the student edition into, outside the teacher "
                              "notebooks' folder and the repository")
    student.add_argument("--overwrite", action="store_true",
                         help="replace a student edition written earlier in --out (only if it holds nothing else, "
                              "unchanged)")
    _notebooks_option(student, "the teacher notebooks")
    student.set_defaults(run=run_student)


def site_command(commands) -> None:
    site = commands.add_parser(
        "site", help="build the course as a static website, offline, without running anything",
        description="Render the notebooks with their stored outputs, TEACHING.md and a landing page into a folder of "
                    "plain HTML (search, dark mode, phone layout; nothing loaded from outside it). Open its "
                    "index.html, or publish the folder on any web server. Exit status 2 if the site cannot be "
                    "built.")
    site.add_argument("--out", type=Path, default=None,
                      help="folder for the site (default: build/site); a folder this command did not build is refused")
    site.add_argument("--without-solutions", action="store_true",
                      help="leave out the reference solutions (the student edition's stubs instead), for a class")
    _notebooks_option(site, "the notebooks to publish")
    site.set_defaults(run=run_site)


def class_command(commands) -> None:
    """``class``: the class server, its join line and the teacher's live page (mnist_helpers.classroom)."""
    from .classroom import teacher

    parser = commands.add_parser("class", help="start the class server: learners' checks report to the teacher's "
                                               "live page", description=teacher.__doc__)
    teacher.add_arguments(parser)
    parser.set_defaults(run=teacher.main)


def review_command(commands) -> None:
    from .course import review

    parser = commands.add_parser(
        "review", help="check a class's returned notebooks again, safely, into a report (CSV, page, feedback)",
        description="Match each returned notebook to its course notebook by content, run its answer cells inside "
                    "the teacher's notebook (lesson and check cells the teacher's own, stored outputs ignored) in a "
                    "child process with a time and a memory limit, and write verdicts.csv, index.html and one "
                    "feedback file per learner. The submissions are only read. Exit status 2 if the review cannot "
                    "start (a folder refused, no submissions).")
    parser.add_argument("submissions", type=Path, help="a folder of returned notebooks (flat, or one subfolder per "
                                                       "learner), or a .zip of one")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for the report: new, empty, or an earlier review's (unchanged), which is "
                             "updated: notebooks reviewed there and unchanged since are not run again")
    _jobs_and_timeout(parser, review.DEFAULT_TIMEOUT)
    parser.add_argument("--memory", type=_learning_rate, default=review.DEFAULT_MEMORY_GIB, metavar="GIB",
                        help=f"memory limit for each notebook, in GiB (default: {review.DEFAULT_MEMORY_GIB:g}; "
                             "Linux and macOS only)")
    _notebooks_option(parser, "the teacher notebooks")
    parser.set_defaults(run=run_review)


SUBCOMMANDS = (train_command, notebooks_command, student_command, site_command, class_command, review_command)


def _notebooks_option(parser: argparse.ArgumentParser, which: str) -> None:
    parser.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                        help=f"the folder of {which} (default: the repository's notebooks/, else the current folder)")


def _jobs_and_timeout(parser: argparse.ArgumentParser, timeout: int) -> None:
    parser.add_argument("--jobs", type=_whole_number(1), default=2,
                        help="notebooks executed at the same time (default: 2)")
    parser.add_argument("--timeout", type=_whole_number(1), default=timeout, metavar="SECONDS",
                        help=f"time limit for each notebook (default: {timeout})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnist_helpers", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(commands)
    return parser


def train(args: argparse.Namespace) -> dict:
    """Train with the options in ``args``; return the results as a dict."""
    import torch

    from .checkpoints import save_checkpoint
    from .data import get_data_loaders, get_test_loader
    from .training import evaluate, fit, recipe

    settings = MODELS[args.model].training
    epochs, lr = getattr(args, "epochs", settings["epochs"]), getattr(args, "lr", settings["lr"])
    device = pick_device(args.device, args.model)
    torch.manual_seed(args.seed)
    train_loader, val_loader = get_data_loaders(args.batch_size, args.val_size, args.seed, args.data_root, args.dataset)
    test_loader = get_test_loader(data_root=args.data_root, dataset=args.dataset)
    model = MODELS[args.model]().to(device)
    passes = f"{epochs} epoch" + ("s" if epochs != 1 else "")
    print(f"Training {type(model).__name__} on {args.dataset} for {passes} on {device}: lr={lr}, "
          f"batch size {args.batch_size}, {len(train_loader.labels)} training / {len(val_loader.labels)} validation "
          "images", file=sys.stderr)
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # per-epoch progress goes to stderr
        history = fit(epochs, lr, model, train_loader, val_loader, **recipe(settings))
    train_seconds = time.perf_counter() - start
    test = evaluate(model, test_loader)
    results = {
        "architecture": args.model, "dataset": args.dataset, "device": str(device),
        "epochs": epochs, "lr": lr, "batch_size": args.batch_size, "val_size": args.val_size,
        "seed": args.seed, "val_loss": history[-1]["val_loss"], "val_acc": history[-1]["val_acc"],
        "test_loss": test["val_loss"], "test_acc": test["val_acc"], "train_seconds": round(train_seconds, 3),
    }
    if args.save:
        try:
            save_checkpoint(model, args.save, **results, history=history)
        except OSError as err:  # the folder was checked before training; a full disk, say
            raise OSError(f"cannot save the model to {args.save}: {err.strerror or err}") from None
        results["saved"] = str(args.save)
    return results


def run_train(args: argparse.Namespace) -> int:
    if args.batch_size > TRAIN_SIZE - args.val_size:
        raise Refused(f"--batch-size {args.batch_size} is more than the {TRAIN_SIZE - args.val_size} training images "
                      f"({TRAIN_SIZE} minus --val-size {args.val_size}): choose at most that")
    try:
        results = train(args)
    except KeyboardInterrupt:
        raise Interrupted("training interrupted (Ctrl-C); nothing was saved") from None
    print(f"validation: loss {results['val_loss']:.4f}, accuracy {results['val_acc']:.4f}")
    print(f"test:       loss {results['test_loss']:.4f}, accuracy {results['test_acc']:.4f}")
    print(f"training took {results['train_seconds']:.2f} s")
    if "saved" in results:
        print(f"saved the model to {results['saved']}")
    if args.json:
        print(json.dumps(results))
    return 0


def run_notebooks(args: argparse.Namespace) -> int:
    from .course import runner

    if args.in_place and args.out:
        raise Refused("--in-place stores the outputs in the notebooks themselves; leave out --out")
    return runner.main(args.names, args.jobs, args.out, args.in_place, args.strict, args.notebooks,
                       args.timeout, args.class_size)


def run_student(args: argparse.Namespace) -> int:
    from .course import student

    return student.main(args.out, args.overwrite, args.notebooks)


def run_site(args: argparse.Namespace) -> int:
    from .course import site

    return site.main(args.out, solutions=not args.without_solutions, notebooks=args.notebooks)


def run_review(args: argparse.Namespace) -> int:
    from .course import review

    return review.main(args.submissions, args.out, args.notebooks, args.jobs, args.timeout, args.memory)


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand ``argv`` names; return its exit status, printing any refusal as one ``error:`` line."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (MnistHelpersError, FloatingPointError, OSError) as err:
        # FloatingPointError: training diverged (training.check_finite), and it says which learning rate to lower;
        # OSError: for example --save onto a full disk, or an unknown notebook.
        print(f"error: {err}", file=sys.stderr)
        return getattr(err, "exit_status", 1)
