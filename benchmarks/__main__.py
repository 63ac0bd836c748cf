"""``python -m benchmarks``: time the tutorial's pipeline, ours and the floor, side by side, in one run.

Prints a Markdown report, writes it with the raw figures as ``results.md`` and ``results.json``,
and (full run, default folder) puts the report into ``benchmarks/README.md``. ``--quick`` runs
every measurement on a few thousand images, for CI: its figures mean nothing, it only keeps
the benchmark working.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from mnist_helpers import MnistCNN, MnistMLP, MnistModel, ensure_mnist, evaluate, get_test_loader
from mnist_helpers.course.runner import run_series
from mnist_helpers.data import DEFAULT_SEED, DEFAULT_VAL_SIZE, TRAIN_SIZE

from . import classroom, cnn, hub, memory, pipelines, review
from .report import add_ratios, machine, render, update_readme, write_text

HERE = Path(__file__).resolve().parent
QUICK = {"size": 3000, "val_size": 500, "repeats": 1, "max_epochs": 2, "notebooks": ["03_model"]}
FULL = {"size": TRAIN_SIZE, "val_size": DEFAULT_VAL_SIZE, "repeats": 5, "max_epochs": 10, "notebooks": None}
TARGET_ACCURACY = 0.92


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def summary(runs: list[float]) -> dict:
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs), "runs": runs}


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def epoch_times(settings: dict, data_root: Path) -> dict:
    """Seconds per epoch of (a), (b), (c) and the by-hand loop, interleaved round by round."""
    say("loading the data both ways")
    start = time.perf_counter()
    tutorial_loaders = pipelines.tutorial_loaders(settings["size"], settings["val_size"], data_root=data_root)
    tutorial_setup = time.perf_counter() - start
    start = time.perf_counter()
    our_loaders = pipelines.our_loaders(settings["size"], settings["val_size"], data_root=data_root)
    our_setup = time.perf_counter() - start

    # First epoch of (a) and (b) from the same weights: they must end with the same weights.
    torch.manual_seed(DEFAULT_SEED)
    model_a = MnistModel()
    model_b = copy.deepcopy(model_a)
    runs = {"tutorial": [], "ours": [], "floor": [], "by_hand": [], "mlp": [], "cnn": []}
    for round_number in range(settings["repeats"]):
        runs["tutorial"].append(timed(pipelines.tutorial_epoch, model_a, *tutorial_loaders))
        runs["ours"].append(timed(pipelines.our_epoch, model_b, *our_loaders))
        if round_number == 0:
            pairs = zip(model_a.parameters(), model_b.parameters(), strict=True)
            weight_gap = max((pa - pb).abs().max().item() for pa, pb in pairs)
        runs["floor"].append(timed(pipelines.floor_epoch, MnistModel(), *our_loaders))
        runs["by_hand"].append(timed(pipelines.by_hand_epoch, MnistModel(), our_loaders[0]))
        runs["mlp"].append(timed(pipelines.our_epoch, MnistMLP(), *our_loaders))
        runs["cnn"].append(timed(pipelines.cnn_epoch, MnistCNN(), *our_loaders))
        say(f"round {round_number + 1}/{settings['repeats']}: "
            + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in runs.items()))
    breakdown = pipelines.step_breakdown(MnistModel(), our_loaders[0])
    return {
        "setup_seconds": {"tutorial": tutorial_setup, "ours": our_setup},
        "epoch_seconds": {name: summary(values) for name, values in runs.items()},
        "weights_max_difference_after_one_epoch": weight_gap,
        "breakdown_seconds": breakdown,
        "steps_per_epoch": len(our_loaders[0]),
    }


def time_to_accuracy(settings: dict, data_root: Path) -> dict:
    """Training seconds until the test accuracy first reaches 92%, with the CLI's defaults (test passes untimed).

    Each run starts as ``python -m mnist_helpers train`` does: seeded weights, freshly seeded loaders.
    """
    test_loader = get_test_loader(data_root=data_root)
    runs = []
    for repeat in range(min(3, settings["repeats"])):
        torch.manual_seed(DEFAULT_SEED)
        train_loader, val_loader = pipelines.our_loaders(settings["size"], settings["val_size"], data_root=data_root)
        model, seconds, accuracies = MnistModel(), 0.0, []
        while len(accuracies) < settings["max_epochs"] and not (accuracies and accuracies[-1] >= TARGET_ACCURACY):
            seconds += timed(pipelines.our_epoch, model, train_loader, val_loader)
            accuracies.append(evaluate(model, test_loader)["val_acc"])
        runs.append(seconds)
        say(f"time to {TARGET_ACCURACY:.0%} test accuracy, run {repeat + 1}: {seconds:.2f} s, "
            f"test accuracy by epoch {accuracies}")
    return {"target": TARGET_ACCURACY, "reached": accuracies[-1] >= TARGET_ACCURACY, "epochs": len(accuracies),
            "test_accuracy_by_epoch": accuracies, "seconds": summary(runs)}


FIRST_EPOCH_CODE = """
import json, sys, time
import torch
from benchmarks import pipelines
torch.manual_seed(42)
loaders = pipelines.our_loaders({size}, {val_size}, data_root={data_root!r})
model, epochs = pipelines.MnistModel(), []
for _ in range(4):
    start = time.perf_counter()
    pipelines.our_epoch(model, *loaders)
    epochs.append(time.perf_counter() - start)
print(json.dumps(epochs))
"""
DYNAMO_IMPORT_CODE = """
import json, time
import torch
start = time.perf_counter()
import torch._dynamo
print(json.dumps(time.perf_counter() - start))
"""


def fresh_process(code: str):
    """Run ``code`` in a fresh Python process; return the JSON it printed last."""
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8")
    if process.returncode != 0:
        raise RuntimeError(f"a fresh process failed (exit code {process.returncode}):\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def first_epoch(settings: dict, data_root: Path) -> dict:
    """The first epoch of ``fit`` in a fresh process against later ones, and what the difference is.

    The first ``torch.optim`` optimizer a process creates imports ``torch._dynamo`` (PyTorch's
    optimizers wrap their methods to keep ``torch.compile`` out, and that import happens on
    first use): every training notebook and CLI run pays it once.
    """
    say("timing the first epochs of a fresh process")
    epochs = fresh_process(FIRST_EPOCH_CODE.format(size=settings["size"], val_size=settings["val_size"],
                                                   data_root=str(data_root)))
    dynamo = [fresh_process(DYNAMO_IMPORT_CODE) for _ in range(min(3, settings["repeats"]))]
    return {"first": epochs[0], "later": summary(epochs[1:]), "import_torch_dynamo": summary(dynamo)}


# Run in the measured process: report its high-water mark of resident memory when it exits. (A
# child's ru_maxrss from wait4 cannot be used: Linux carries the parent's peak over into it.)
PEAK_PRELUDE = """
import atexit, sys
def _report_peak():
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    except OSError:  # no /proc (macOS): getrusage, in bytes there (no Windows: the measurement fails, saying so)
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print("peak-rss-kib", peak, file=sys.__stderr__)
atexit.register(_report_peak)
"""


def peak_rss_mib(label: str, code: str) -> tuple[str, float]:
    """``label`` and the peak resident memory, in MiB, of a fresh Python process running ``code`` (Linux, macOS)."""
    say(f"measuring the memory of: {label}")
    process = subprocess.run([sys.executable, "-c", PEAK_PRELUDE + code], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, encoding="utf-8")
    peaks = [line.split()[1] for line in process.stderr.splitlines() if line.startswith("peak-rss-kib ")]
    if process.returncode != 0 or not peaks:
        raise RuntimeError(f"measuring {code!r} failed (exit code {process.returncode}):\n{process.stderr[-3000:]}")
    return label, int(peaks[-1]) / 1024


def run_module_code(module: str, *args: str) -> str:
    """Python code that runs ``python -m module args`` inside the measured process."""
    return (f"import runpy; sys.argv = {[module, *args]!r}\n"
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")


def peak_memory(settings: dict, data_root: Path, quick: bool) -> dict[str, float]:
    """Peak memory of fresh processes, measured side by side (each process's own peak)."""
    epochs = ["--epochs", "1"] if quick else []  # the full run measures the CLI with its defaults
    jobs = [
        ("python -c 'import torch'", "import torch"),
        ("python -m mnist_helpers train",
         run_module_code("mnist_helpers", "train", "--data-root", str(data_root), *epochs)),
    ]
    if not quick:  # the quick run only shows that the measurement works
        jobs.insert(1, ("(a) tutorial pipeline, one epoch", run_module_code(
            "benchmarks.pipelines", "tutorial", "--size", str(settings["size"]),
            "--val-size", str(settings["val_size"]), "--data-root", str(data_root))))
    with ThreadPoolExecutor(len(jobs)) as pool:
        return dict(pool.map(lambda job: peak_rss_mib(*job), jobs))


def series_times(settings: dict) -> dict:
    """The notebook series executed headless by the project's runner, into a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="mnist-series-") as folder:
        start = time.perf_counter()
        outcomes = run_series(settings["notebooks"], jobs=2, out_dir=Path(folder))
        total = time.perf_counter() - start
    failed = [f"{o.name}: {o.error}" for o in outcomes if o.error]
    if failed:
        raise SystemExit("error: notebooks failed while timing the series:\n  " + "\n  ".join(failed))
    return {"jobs": 2, "total_seconds": total, "notebooks": {f"{o.name}.ipynb": o.seconds for o in outcomes},
            "peak_bytes": {o.name: o.peak_bytes for o in outcomes}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and one repetition, to check the benchmark runs")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds of epoch timings (default: 5, or 1 with --quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for results.json and results.md "
                             "(default: benchmarks/, or artifacts/benchmarks-quick/ with --quick)")
    parser.add_argument("--data-root", type=Path, default=None, help="data folder (default: $MNIST_DATA or data/)")
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    if args.repeats is not None:
        if args.repeats < 1:
            parser.error(f"--repeats must be at least 1, got {args.repeats}")
        settings["repeats"] = args.repeats
    out = args.out or (HERE.parent / "artifacts" / "benchmarks-quick" if args.quick else HERE)
    data_root = ensure_mnist(args.data_root).resolve()

    results = {"mode": "quick" if args.quick else "full", "machine": machine(),
               "settings": {k: v for k, v in settings.items() if k != "notebooks"}}
    results.update(epoch_times(settings, data_root))
    results["time_to_accuracy"] = time_to_accuracy(settings, data_root)
    results["cnn_recipe"] = cnn.measure(settings["size"], settings["val_size"], min(2, settings["repeats"]), data_root)
    results["first_epoch_seconds"] = first_epoch(settings, data_root)
    results["peak_rss_mib"] = peak_memory(settings, data_root, args.quick)
    results["series"] = series_times(settings)
    results["classroom"] = classroom.measure(args.quick)
    results["review"] = review.measure(args.quick, data_root, peak_rss_mib, run_module_code)
    results["kernel_memory"] = memory.figures(results["series"]["peak_bytes"])
    results["hub"] = None if args.quick or hub.find_proxy() is None else hub.measure(data_root)
    add_ratios(results)
    report = render(results)
    print(report)

    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "results.json", json.dumps(results, indent=1) + "\n")
    write_text(out / "results.md", report)
    if out == HERE and not args.quick:
        update_readme(HERE / "README.md", report)
    say(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
