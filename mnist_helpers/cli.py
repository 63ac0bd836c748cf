"""The command line: ``python -m mnist_helpers train``, ``... notebooks`` (the readiness check), ``... student``
and ``... site``."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from .data import DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_VAL_SIZE, TRAIN_SIZE
from .device import CHOICES, DeviceError, pick_device
from .download import DATASETS, MnistDataError

# Each model's training when --epochs and --lr are not given (README): the linear model's best settings
# (about 92.5% test accuracy in a few seconds); for the CNN, notebook 9's recipe, SGD with momentum and a
# last epoch with steps ten times smaller, with one more epoch than the notebook can afford (99.15% test).
DEFAULT_EPOCHS = 10
DEFAULT_LR = 0.3
MODEL_DEFAULTS = {
    "linear": {"epochs": DEFAULT_EPOCHS, "lr": DEFAULT_LR, "momentum": 0.0, "last_epoch_lr_factor": 1.0},
    "mlp": {"epochs": DEFAULT_EPOCHS, "lr": DEFAULT_LR, "momentum": 0.0, "last_epoch_lr_factor": 1.0},
    "cnn": {"epochs": 4, "lr": 0.05, "momentum": 0.9, "last_epoch_lr_factor": 0.1},
}
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


def _nearest_existing(path: Path) -> Path:
    """``path`` itself if it exists, else the closest folder above it that does."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _data_folder(text: str) -> str:
    """A data folder: an existing folder, or one that can be made (nothing above it is a file)."""
    found = _nearest_existing(Path(text))
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
    folder = _nearest_existing(path.parent)
    try:
        if not folder.is_dir():
            raise NotADirectoryError(0, f"{folder} is a file")
        with tempfile.TemporaryFile(dir=folder):  # the real test: can a file be made there?
            pass
    except OSError as err:
        raise argparse.ArgumentTypeError(f"cannot save to {text}: no file can be made in {folder} "
                                         f"({err.strerror or err}); choose a folder you can write") from None
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnist_helpers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = argparse.ArgumentDefaultsHelpFormatter

    train = commands.add_parser("train", formatter_class=defaults,
                                help="train a model on MNIST (or Fashion-MNIST) and report validation and test metrics",
                                description="Train the softmax-regression MnistModel, the one-hidden-layer MnistMLP "
                                            "or the convolutional MnistCNN on MNIST or Fashion-MNIST, headless.")
    train.add_argument("--model", choices=["linear", "mlp", "cnn"], default="linear",
                       help="linear: MnistModel, nn.Linear(784, 10); mlp: MnistMLP, a hidden layer of 256 ReLU units; "
                            "cnn: MnistCNN, two 5x5 convolution layers (16 and 32 channels, batch normalisation, "
                            "max pooling)")
    train.add_argument("--dataset", choices=list(DATASETS), default="mnist", help="the images to learn")
    train.add_argument("--device", choices=list(CHOICES), default="auto",
                       help="where to compute: auto picks cuda, then mps, then cpu")
    cnn = MODEL_DEFAULTS["cnn"]
    # No default here (each model has its own, said in the help): left out, they are absent from the arguments.
    train.add_argument("--epochs", type=_whole_number(1), default=argparse.SUPPRESS,
                       help=f"passes over the training set (default: {DEFAULT_EPOCHS}; with --model cnn: "
                            f"{cnn['epochs']})")
    train.add_argument("--lr", type=_learning_rate, default=argparse.SUPPRESS,
                       help=f"learning rate of SGD (default: {DEFAULT_LR}; with --model cnn: {cnn['lr']}, momentum "
                            f"{cnn['momentum']}, and its last epoch at lr x {cnn['last_epoch_lr_factor']})")
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
    notebooks.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                           help="the folder of the course's notebooks (default: the repository's notebooks/, "
                                "else the current folder)")
    notebooks.add_argument("--jobs", type=_whole_number(1), default=2,
                           help="notebooks executed at the same time (default: 2)")
    notebooks.add_argument("--out", type=Path, default=None,
                           help="folder for the executed notebooks: new, empty, or written by an earlier run (which "
                                "is replaced), and outside the notebooks' folder (default: build/notebooks in the "
                                "repository, else ~/.cache/mnist_helpers/executed-notebooks)")
    notebooks.add_argument("--strict", action="store_true",
                           help="exit with status 1 if any notebook's outputs are different (floating-point noise "
                                "is not a difference)")
    notebooks.add_argument("--timeout", type=_whole_number(1), default=1200, metavar="SECONDS",
                           help="time limit for each notebook (default: 1200)")
    notebooks.add_argument("--class-size", type=_whole_number(1), default=None, metavar="N",
                           help="end with the settings of a JupyterHub for N learners at once (memory, CPU, "
                                "OMP_NUM_THREADS), sized from each kernel's measured peak memory")
    notebooks.add_argument("--in-place", action="store_true",
                           help="for maintainers: store the fresh outputs in the notebooks themselves "
                                "(refuses stderr output)")

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
    student.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                         help="the folder of the teacher notebooks (default: the repository's notebooks/, else "
                              "the current folder)")

    site = commands.add_parser(
        "site", help="build the course as a static website, offline, without running anything",
        description="Render the notebooks with their stored outputs, TEACHING.md and a landing page into a folder of "
                    "plain HTML (search, dark mode, phone layout; nothing loaded from outside it). Open its "
                    "index.html, or publish the folder on any web server.")
    site.add_argument("--out", type=Path, default=None,
                      help="folder for the site (default: build/site); a folder this command did not build is refused")
    site.add_argument("--without-solutions", action="store_true",
                      help="leave out the reference solutions (the student edition's stubs instead), for a class")
    add_class_command(commands)
    return parser


def add_class_command(commands) -> None:
    """``class``: the class server, its join line and the teacher's live page (mnist_helpers.classroom)."""
    from .classroom import teacher

    parser = commands.add_parser("class", help="start the class server: learners' checks report to the teacher's "
                                               "live page", description=teacher.__doc__)
    teacher.add_arguments(parser)
    parser.set_defaults(handler=teacher.main)


def train(args: argparse.Namespace) -> dict:
    """Train with the options in ``args``; return the results as a dict."""
    import torch

    from .checkpoints import save_checkpoint
    from .data import get_data_loaders, get_test_loader
    from .model import MODELS
    from .training import evaluate, fit

    settings = MODEL_DEFAULTS[args.model]
    epochs, lr = getattr(args, "epochs", settings["epochs"]), getattr(args, "lr", settings["lr"])
    device = pick_device(args.device, args.model)
    torch.manual_seed(args.seed)
    train_loader, val_loader = get_data_loaders(args.batch_size, args.val_size, args.seed, args.data_root, args.dataset)
    test_loader = get_test_loader(data_root=args.data_root, dataset=args.dataset)
    model = MODELS[args.model]().to(device)
    print(f"Training {type(model).__name__} on {args.dataset} for {epochs} epochs on {device}: lr={lr}, "
          f"batch size {args.batch_size}, {len(train_loader.labels)} training / {len(val_loader.labels)} validation "
          "images", file=sys.stderr)
    sgd = functools.partial(torch.optim.SGD, momentum=settings["momentum"])
    last_lr = lr * settings["last_epoch_lr_factor"]
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # per-epoch progress goes to stderr
        if last_lr == lr or epochs == 1:
            history = fit(epochs, lr, model, train_loader, val_loader, sgd)
        else:  # the CNN: a last epoch with smaller steps, as notebook 9 does it
            history = fit(epochs - 1, lr, model, train_loader, val_loader, sgd)
            history += fit(1, last_lr, model, train_loader, val_loader, sgd)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train" and args.batch_size > TRAIN_SIZE - args.val_size:
        print(f"error: --batch-size {args.batch_size} is more than the {TRAIN_SIZE - args.val_size} training images "
              f"({TRAIN_SIZE} minus --val-size {args.val_size}): choose at most that", file=sys.stderr)
        return 2
    try:
        if getattr(args, "handler", None):
            return args.handler(args)
        if args.command == "notebooks":
            from .course import runner

            if args.in_place and args.out:
                print("error: --in-place stores the outputs in the notebooks themselves; leave out --out",
                      file=sys.stderr)
                return 2
            from .course.folders import OutputFolderError

            try:
                return runner.main(args.names, args.jobs, args.out, args.in_place, args.strict, args.notebooks,
                                   args.timeout, args.class_size)
            except (runner.RunnerError, OutputFolderError) as err:  # nothing ran: a folder refused, a bad notebook
                print(f"error: {err}", file=sys.stderr)
                return 2
        if args.command == "student":
            from .course import student

            return student.main(args.out, args.overwrite, args.notebooks)
        if args.command == "site":
            from .course import site

            return site.main(args.out, solutions=not args.without_solutions)
        try:
            results = train(args)
        except KeyboardInterrupt:
            print("error: training interrupted (Ctrl-C); nothing was saved", file=sys.stderr)
            return 130
    except DeviceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MnistDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except FloatingPointError as err:  # training diverged (training.check_finite): it says which learning rate to lower
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # for example --save onto a full disk, or an unknown notebook
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"validation: loss {results['val_loss']:.4f}, accuracy {results['val_acc']:.4f}")
    print(f"test:       loss {results['test_loss']:.4f}, accuracy {results['test_acc']:.4f}")
    print(f"training took {results['train_seconds']:.2f} s")
    if "saved" in results:
        print(f"saved the model to {results['saved']}")
    if args.json:
        print(json.dumps(results))
    return 0
