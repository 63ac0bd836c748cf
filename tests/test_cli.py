"""python -m mnist_helpers train: option checks, progress on stderr, the JSON contract."""

import json
import os
import subprocess
import sys

import pytest
import torch

from mnist_helpers import load_checkpoint
from mnist_helpers.cli import build_parser, main
from mnist_helpers.model import MODELS, TRAINING


@pytest.mark.parametrize("args, option", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "two"], "--epochs"), (["--lr", "0"], "--lr"),
    (["--lr", "-0.1"], "--lr"), (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"),
    (["--batch-size", "0"], "--batch-size"), (["--val-size", "0"], "--val-size"),
    (["--val-size", "60000"], "--val-size"),
    (["--seed", "99999999999999999999999"], "--seed"), (["--seed", "-1"], "--seed"), (["--seed", "4.2"], "--seed"),
])
def test_nonsense_values_exit_2_naming_the_option(args, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args])
    assert exit_info.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err


def test_the_seed_range_is_what_torch_accepts(capsys):
    import torch

    assert build_parser().parse_args(["train", "--seed", str(2**64 - 1)]).seed == 2**64 - 1
    torch.manual_seed(2**64 - 1)  # the largest seed the CLI takes is one torch takes
    with pytest.raises(ValueError):
        torch.manual_seed(2**64)  # and the next one is not
    with pytest.raises(SystemExit):
        main(["train", "--seed", str(2**64)])
    assert "argument --seed: must be between 0 and 18446744073709551615" in capsys.readouterr().err


def test_a_diverging_training_is_one_line_and_leaves_stdout_empty(data_root, capsys):
    code = main(["train", "--lr", "1e38", "--epochs", "1", "--val-size", "59000", "--data-root", str(data_root),
                 "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: training diverged in epoch 0") and "smaller learning rate" in last
    assert "Traceback" not in err


def test_save_into_a_place_that_cannot_hold_the_model_is_refused_before_training(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine", encoding="utf-8")
    cases = [(tmp_path, "is a folder: give a file name"), (f"{tmp_path}/models/", "is a folder"),
             (notes, "exists and is not a checkpoint"), (notes / "model.pt", "no file can be made in")]
    if os.path.isdir("/proc/self"):  # Linux: a folder where nothing can be made (elsewhere /proc can be created)
        cases.append(("/proc/x/model.pt", "no file can be made in"))
    for save, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--save", str(save), "--data-root", str(tmp_path / "never-read")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and "argument --save: " in err and message in err, err
    assert notes.read_text(encoding="utf-8") == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_data_root_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "data").write_text("not a folder", encoding="utf-8")
    for root in (tmp_path / "data", tmp_path / "data" / "mnist"):
        with pytest.raises(SystemExit):
            main(["train", "--data-root", str(root)])
        assert f"argument --data-root: {root} is not a folder" in capsys.readouterr().err


def test_a_batch_larger_than_the_training_set_is_refused(capsys):
    assert main(["train", "--val-size", "59000", "--batch-size", "1001"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: --batch-size 1001 is more than the 1000 training images (60000 minus --val-size 59000): "
                   "choose at most that\n")


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--epochs", "--lr", "--batch-size", "--val-size", "--seed", "--data-root", "--save", "--json"):
        assert option in text
    cnn = MODELS["cnn"].training
    assert f"(default: {TRAINING['epochs']}; with --model cnn: {cnn['epochs']})" in text
    assert (f"(default: {TRAINING['lr']}; with --model cnn: {cnn['lr']}, momentum {cnn['momentum']}, Nesterov True, "
            "one-cycle schedule True)") in text
    assert f"cnn: {cnn['epochs']}) (default" not in text  # the model's own defaults, not argparse's "None"
    assert "keeps the linear model on the cpu" in text  # what --device auto does
    assert "(default: 128)" in text and "(default: 10000)" in text


def test_train_json_contract_and_checkpoint(data_root, tmp_path):
    save = tmp_path / "models" / "model.pt"
    proc = run_cli("train", "--epochs", "2", "--lr", "0.3", "--val-size", "5000",
                   "--data-root", str(data_root), "--save", str(save), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("epochs", "lr", "batch_size", "val_loss", "val_acc", "test_loss", "test_acc", "train_seconds"):
        assert key in result
    assert (result["epochs"], result["lr"], result["batch_size"], result["val_size"]) == (2, 0.3, 128, 5000)
    assert result["test_acc"] > 0.9 and result["val_acc"] > 0.9 and 0 < result["train_seconds"] < 120
    # progress goes to stderr, one line per epoch; stdout stays clean for scripts
    assert proc.stderr.count("Epoch [") == 2 and "Epoch [" not in proc.stdout
    model = load_checkpoint(save)
    assert model.metadata["test_acc"] == result["test_acc"] and len(model.metadata["history"]) == 2


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnist_helpers", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, encoding="utf-8")


@pytest.mark.slow
def test_defaults_reach_92_percent_test_accuracy(data_root):
    proc = run_cli("train", "--data-root", str(data_root), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (result["epochs"], result["lr"]) == (TRAINING["epochs"], TRAINING["lr"])
    assert result["test_acc"] >= 0.92 and result["val_acc"] >= 0.91


def test_missing_data_is_one_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MNIST_MIRROR"}
    env["MNIST_DOWNLOAD_HOST"] = "mnist.invalid"  # fails at once: the test never uses the network
    proc = run_cli("train", "--data-root", str(tmp_path / "empty"), env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: MNIST is not available") and "Traceback" not in proc.stderr
    assert "MNIST_MIRROR" in proc.stderr and "no network" in proc.stderr


def test_a_device_that_is_not_there_exits_2_naming_it(capsys):
    import torch

    missing = next((d for d in ("cuda", "mps") if d == "cuda" and not torch.cuda.is_available()
                    or d == "mps" and not torch.backends.mps.is_available()), None)
    if missing is None:
        pytest.skip("this machine has both a CUDA GPU and MPS: no device is missing")
    assert main(["train", "--device", missing, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert f"error: device '{missing}' is not available on this machine; available: " in err and "cpu" in err


@pytest.mark.slow
def test_the_mlp_reaches_975_percent(data_root, tmp_path):
    out = run_cli("train", "--model", "mlp", "--json", "--data-root", str(data_root), "--save",
                  str(tmp_path / "mlp.pt"), timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["architecture"] == "mlp" and results["dataset"] == "mnist" and results["test_acc"] >= 0.975
    assert "Training MnistMLP on mnist" in out.stderr
    loaded = load_checkpoint(tmp_path / "mlp.pt")
    assert type(loaded).__name__ == "MnistMLP" and loaded.hidden.out_features == 256


@pytest.mark.slow
def test_the_cnn_trains_with_its_own_defaults(data_root, tmp_path):
    """The CLI's CNN keeps its recipe's settings; one epoch of it, for the CLI's part.

    That the whole recipe (2 epochs) passes 99% is measured where it is trained anyway: notebook 9 trains
    ``MnistCNN.training`` (test_notebook09.py holds it to that recipe and to 99%, and nbval re-runs it), and
    ``python -m benchmarks`` trains it as the CLI does. Training it here too would add two minutes to the suite.
    """
    proc = run_cli("train", "--model", "cnn", "--epochs", "1", "--json", "--data-root", str(data_root), "--save",
                   str(tmp_path / "cnn.pt"), timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    cnn = MODELS["cnn"].training
    assert (result["architecture"], result["epochs"], result["lr"]) == ("cnn", 1, cnn["lr"])  # its own lr kept
    assert result["test_acc"] >= 0.98 and result["val_acc"] >= 0.98  # one epoch of the one-cycle recipe
    assert "Training MnistCNN on mnist for 1 epoch on cpu" in proc.stderr and proc.stderr.count("Epoch [") == 1
    loaded = load_checkpoint(tmp_path / "cnn.pt")
    assert type(loaded).__name__ == "MnistCNN" and loaded.metadata["test_acc"] == result["test_acc"]


@pytest.fixture
def tiny_model_class():
    """A model defined here, as a maintainer adds one: only its class, in one place."""
    from mnist_helpers.model import INPUT_SIZE, ImageClassificationBase, check_images

    class MnistTiny(ImageClassificationBase):
        """Ten pixels per digit: the smallest model that learns something."""

        name, about = "tiny", "MnistTiny, a linear layer on every 8th pixel"
        training = {"epochs": 1, "lr": 0.5, "momentum": 0.0, "nesterov": False, "one_cycle": False}

        def __init__(self, every: int = 8):
            super().__init__()
            self.every = every
            self.linear = torch.nn.Linear(len(range(0, INPUT_SIZE, every)), 10)

        def forward(self, xb):
            check_images(xb)
            return self.linear(xb.reshape(-1, INPUT_SIZE)[:, ::self.every])

        def settings(self) -> dict:
            return {"every": self.every}

    yield MnistTiny
    del MODELS["tiny"]


def test_a_new_model_class_is_registered_trained_by_the_cli_saved_and_loaded(tiny_model_class, data_root, tmp_path,
                                                                            capsys):
    from mnist_helpers.checkpoints import architecture

    assert MODELS["tiny"] is tiny_model_class
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{linear,mlp,cnn,tiny}" in text and "tiny: MnistTiny, a linear layer on every 8th pixel" in text
    assert "with --model tiny: 1" in text and "with --model tiny: 0.5," in text  # its own defaults, in the help
    code = main(["train", "--model", "tiny", "--val-size", "59000", "--data-root", str(data_root),
                 "--save", str(tmp_path / "tiny.pt"), "--json"])
    results = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 0 and (results["architecture"], results["epochs"], results["lr"]) == ("tiny", 1, 0.5)
    loaded = load_checkpoint(tmp_path / "tiny.pt")
    assert type(loaded) is tiny_model_class and architecture(loaded) == {"architecture": "tiny", "every": 8}
