"""The benchmark's quick mode runs end to end and its figures hang together (no timed assertions)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import peak_rss_mib
from benchmarks.report import END, START, update_readme

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_run(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark")
    readme_before = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out),
                           "--data-root", str(data_root)], cwd=ROOT, capture_output=True, timeout=600, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8") == readme_before  # --out: README left alone
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return results, (out / "results.md").read_text(encoding="utf-8"), proc


@pytest.mark.slow  # the quick run: trainings, a notebook, timed subprocesses
def test_tutorial_and_ours_do_the_same_work(quick_run):
    results, _, _ = quick_run
    assert results["mode"] == "quick"
    # Same initial weights, same batches in the same order: the same weights after an epoch.
    assert results["weights_max_difference_after_one_epoch"] < 1e-6
    assert results["steps_per_epoch"] == 20  # 2,500 training images in batches of 128


@pytest.mark.slow  # the quick run: trainings, a notebook, timed subprocesses
def test_ratios_and_targets_follow_from_the_timings(quick_run):
    results, _, _ = quick_run
    median = {name: t["median"] for name, t in results["epoch_seconds"].items()}
    assert set(median) == {"tutorial", "ours", "floor", "by_hand", "mlp", "cnn"}
    for times in results["epoch_seconds"].values():
        assert len(times["runs"]) == 1 and times["min"] <= times["median"] <= times["max"] and times["min"] > 0
    assert results["ratios"]["tutorial_over_ours"] == pytest.approx(median["tutorial"] / median["ours"])
    assert results["ratios"]["ours_over_floor"] == pytest.approx(median["ours"] / median["floor"])
    targets = {t["target"]: t for t in results["targets"]}
    assert len(targets) == 6
    cnn = results["cnn_recipe"]
    medians = cnn["median_seconds"]
    assert cnn["recipe_over_baseline"] == pytest.approx(medians["recipe"] / medians["baseline"])
    ratio_target = targets["the CNN's recipe over the earlier one, training time"]
    assert ratio_target["met"] == (cnn["recipe_over_baseline"] <= 0.55)
    assert all(0.5 < acc <= 1 for run in cnn["runs"].values() for acc in run["test_acc"])  # both trained
    ratio = targets["(a)/(b): ours faster than the tutorial per epoch"]
    assert ratio["met"] == (ratio["measured"] >= 50)
    assert all(part > 0 for part in results["breakdown_seconds"].values())


@pytest.mark.slow  # the quick run: trainings, a notebook, timed subprocesses
def test_accuracy_memory_and_series_are_reported(quick_run):
    results, report, _ = quick_run
    accuracy = results["time_to_accuracy"]
    assert 1 <= accuracy["epochs"] == len(accuracy["test_accuracy_by_epoch"]) <= 2
    assert all(0.5 < acc < 1 for acc in accuracy["test_accuracy_by_epoch"])  # trained, on 2,500 images
    assert accuracy["reached"] == (accuracy["test_accuracy_by_epoch"][-1] >= 0.92)
    memory = results["peak_rss_mib"]
    assert memory["python -c 'import torch'"] > 50
    assert memory["python -m mnist_helpers train"] > memory["python -c 'import torch'"]  # plus the images
    assert list(results["series"]["notebooks"]) == ["03_model.ipynb"]
    first = results["first_epoch_seconds"]
    assert first["first"] > 0 and len(first["later"]["runs"]) == 3 and len(first["import_torch_dynamo"]["runs"]) == 1
    for heading in ("### Targets", "### One epoch", "### Where an epoch", "### Time to 92%", "### The CNN's recipe",
                    "### The first epoch",
                    "### Peak memory", "### Notebook series"):
        assert heading in report
    assert "(a) tutorial: torchvision `MNIST`" in report
    for target in results["targets"]:  # each target's row says what its figures say
        row = next(line for line in report.splitlines() if line.startswith(f"| {target['target']} |"))
        assert row.endswith("| met |" if target["met"] else "| **missed** |"), row


@pytest.mark.slow  # the quick run: trainings, a notebook, timed subprocesses
def test_progress_goes_to_stderr_and_the_report_to_stdout(quick_run):
    _, report, proc = quick_run
    assert proc.stdout.strip() == report.strip()
    assert "round 1/1:" in proc.stderr and "measuring the memory of" in proc.stderr


def test_readme_results_are_replaced_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n\n{START}\nold table\n{END}\n\nafter\n", encoding="utf-8")
    update_readme(readme, "new table\n")
    assert readme.read_text(encoding="utf-8") == f"intro\n\n{START}\nnew table\n{END}\n\nafter\n"
    readme.write_text("no markers here\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="lost its markers"):
        update_readme(readme, "new table\n")


def test_peak_memory_of_a_failing_process_is_a_clear_error():
    with pytest.raises(RuntimeError, match="exit code 3"):
        peak_rss_mib("failing", "raise SystemExit(3)")
    label, mib = peak_rss_mib("small", "x = bytearray(200 * 2**20); x[::4096] = b'1' * len(x[::4096])")
    assert label == "small" and mib > 200


@pytest.mark.slow  # the quick run: trainings, a notebook, timed subprocesses
def test_the_review_is_measured(quick_run):
    results, report, _ = quick_run
    figures = results["review"]
    assert figures["notebooks"] == 2 and figures["all_reviewed"] and figures["jobs"] == 2
    assert figures["per_minute"] == pytest.approx(60 * 2 / figures["seconds"])
    assert figures["reviewer_peak_mib"] > 0 and figures["notebook_peak_mib"] > 0
    assert "### Reviewing returned work" in report
