"""The benchmark's report: the machine it ran on, the targets, and the Markdown tables."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import torch

from mnist_helpers.files import atomic_write

from . import classroom, cnn

# (name, how to read it from the results, limit, whether higher is better, unit)
TARGETS = [
    ("(a)/(b): ours faster than the tutorial per epoch", lambda r: r["ratios"]["tutorial_over_ours"], 50, True, "x"),
    ("(b)/(c): ours over the arithmetic floor", lambda r: r["ratios"]["ours_over_floor"], 5, False, "x"),
    ("notebook series, headless, two at a time", lambda r: r["series"]["total_seconds"], 20, False, " s"),
    ("peak memory of `python -m mnist_helpers train`",
     lambda r: r["peak_rss_mib"]["python -m mnist_helpers train"], 1024, False, " MiB"),
    ("the CNN's recipe over the earlier one, training time", lambda r: r["cnn_recipe"]["recipe_over_baseline"],
     0.55, False, "x"),
    ("the CNN's recipe, test accuracy (its lowest run)", lambda r: 100 * r["cnn_recipe"]["recipe_test_acc"], 99.0,
     True, "%"),
]
PIPELINES = {
    "tutorial": "(a) tutorial: torchvision `MNIST` + `ToTensor()` + `DataLoader`",
    "ours": "(b) ours: `mnist_helpers` loaders + `fit`",
    "floor": "(c) floor: one full-batch step + one validation pass",
    "by_hand": "(b) without autograd: same batches, gradients by hand",
    "mlp": "(b) with `MnistMLP` (784-256-10, notebook 8) instead of the linear model",
    "cnn": "(b) with `MnistCNN` (two convolution layers, notebook 9), SGD with momentum",
}
START, END = "<!-- benchmark results: start -->", "<!-- benchmark results: end -->"


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torchvision

    return {
        "cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "system": platform.platform(terse=True), "python": platform.python_version(),
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def add_ratios(results: dict) -> None:
    """Ratios of the medians, taken within this run: the only fair comparison on a noisy machine."""
    median = {name: times["median"] for name, times in results["epoch_seconds"].items()}
    results["ratios"] = {"tutorial_over_ours": median["tutorial"] / median["ours"],
                         "ours_over_floor": median["ours"] / median["floor"]}
    results["targets"] = [
        {"target": name, "measured": value(results), "limit": limit, "higher_is_better": higher,
         "met": value(results) >= limit if higher else value(results) <= limit}
        for name, value, limit, higher, _ in TARGETS
    ]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def render(results: dict) -> str:
    """The whole report as Markdown (also what ``python -m benchmarks`` prints); needs ``add_ratios`` first."""
    m, s = results["machine"], results["settings"]
    epochs, accuracy = results["epoch_seconds"], results["time_to_accuracy"]
    parts = [
        f"**{results['mode'].capitalize()} run, {m['date']}** on {m['cpu']}, {m['cores']} cores "
        f"(torch uses {m['torch_threads']} threads), {m['memory_gib']} GiB RAM, {m['system']}; "
        f"Python {m['python']}, torch {m['torch']}, torchvision {m['torchvision']}.",
    ]
    if results["mode"] == "quick":
        parts.append("A quick run uses a few thousand images: its figures only show that the benchmark works.")

    parts.append("### Targets\n\n" + table(["target", "measured", "limit", "result"], [
        [name, f"{value(results):.1f}{unit}", f"{'≥' if higher else '≤'} {limit}{unit}",
         "met" if row["met"] else "**missed**"]
        for (name, value, limit, higher, unit), row in zip(TARGETS, results["targets"], strict=True)
    ]))

    parts.append(
        f"### One epoch: {s['size'] - s['val_size']:,} training images in batches of 128, then "
        f"{s['val_size']:,} validation images (seconds; {plural(s['repeats'], 'round')})\n\n"
        + table(["pipeline", "median", "min", "max"],
                [[PIPELINES[name], f"{t['median']:.3f}", f"{t['min']:.3f}", f"{t['max']:.3f}"]
                 for name, t in epochs.items()])
        + f"\n\nLoading before the first epoch: {results['setup_seconds']['tutorial']:.2f} s "
        f"for the tutorial's dataset object, {results['setup_seconds']['ours']:.2f} s "
        f"to decode all images into one tensor and split it. "
        f"After their first epoch from the same initial weights, (a) and (b) differ by at most "
        f"{results['weights_max_difference_after_one_epoch']:.1e} in any weight: they do the same work."
    )

    steps = results["steps_per_epoch"]
    breakdown = results["breakdown_seconds"]
    total = sum(breakdown.values())
    parts.append(
        f"### Where an epoch of (b)'s training goes ({steps} steps, one timed epoch)\n\n"
        + table(["part of the step", "ms per epoch", "µs per step", "share"],
                [[name, f"{sec * 1e3:.0f}", f"{sec / steps * 1e6:.0f}", f"{sec / total:.0%}"]
                 for name, sec in breakdown.items()])
    )

    reached = (f"reached after {accuracy['epochs']} epochs and {accuracy['seconds']['median']:.2f} s of training"
               if accuracy["reached"] else f"not reached in {accuracy['epochs']} epochs")
    parts.append(
        f"### Time to {accuracy['target']:.0%} test accuracy with the CLI's defaults\n\n"
        f"SGD, learning rate 0.3, batch 128, seed 42: {reached} "
        f"(median of {plural(len(accuracy['seconds']['runs']), 'run')}; "
        f"test passes not counted). Test accuracy after each epoch: "
        + ", ".join(f"{acc:.4f}" for acc in accuracy["test_accuracy_by_epoch"]) + "."
    )

    if "cnn_recipe" in results:
        parts.append(cnn.render(results["cnn_recipe"]).rstrip())

    first = results["first_epoch_seconds"]
    parts.append(
        "### The first epoch in a fresh process\n\n" + table(["", "seconds"], [
            ["first epoch of `fit` in a fresh process", f"{first['first']:.3f}"],
            ["later epochs (median of 3)", f"{first['later']['median']:.3f}"],
            ["`import torch._dynamo` alone, after `import torch` (median)",
             f"{first['import_torch_dynamo']['median']:.3f}"],
        ])
        + "\n\nThe first `torch.optim` optimizer of a process imports `torch._dynamo`: PyTorch wraps the optimizers' "
        "methods to keep `torch.compile` out of them, and that wrapper imports the compiler on first use. Every "
        "training notebook and every CLI run pays it once. It stays: the series teaches `torch.optim.SGD`, and the "
        "ways around it (an optimizer written by hand, stubbing out a PyTorch module, or importing it in a background "
        "thread, racing the notebook's own imports of PyTorch modules: imports from two threads at once can deadlock "
        "or meet a half-initialised module) are either not the lesson or not safe."
    )

    parts.append("### Peak memory (resident set of the whole process)\n\n" + table(
        ["process", "MiB"], [[f"`{name}`" if name.startswith("python") else name, f"{mib:.0f}"]
                             for name, mib in results["peak_rss_mib"].items()]))

    series = results["series"]
    rows = [[f"`{name}`", f"{sec:.1f}"] for name, sec in series["notebooks"].items()]
    rows.append(["**all (wall clock)**", f"**{series['total_seconds']:.1f}**"])
    parts.append(
        f"### Notebook series, headless, {series['jobs']} at a time (seconds, kernel start included)\n\n"
        + table(["notebook", "seconds"], rows))
    if "classroom" in results:
        parts.append(classroom.render(results["classroom"]).rstrip())
    if "review" in results:
        from .review import render as render_review

        parts.append(render_review(results["review"]).rstrip())
    if "kernel_memory" in results:
        from .memory import render as render_memory

        parts.append(render_memory(results["kernel_memory"]))
    if "hub" in results:
        from .hub import render as render_hub

        parts.append(render_hub(results["hub"]))
    return "\n\n".join(parts) + "\n"


def update_readme(readme: Path, report: str) -> None:
    """Replace the results section of ``readme`` (between its two markers) with ``report``."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"error: {readme} has lost its markers {START!r} and {END!r}; "
                         "put them back around the results")
    head, rest = text.split(START, 1)
    write_text(readme, f"{head}{START}\n{report}{END}{rest.split(END, 1)[1]}")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file, then a rename)."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
