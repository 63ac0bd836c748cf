"""save_checkpoint / load_checkpoint: round trip, atomic writes, safe loading."""

import os
import pickle

import pytest
import torch

from mnist_helpers import CheckpointError, MnistCNN, MnistMLP, MnistModel, evaluate, load_checkpoint, save_checkpoint
from mnist_helpers.checkpoints import FORMAT, architecture


class Payload:
    """Something a hostile pickle could smuggle in."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_round_trip_keeps_weights_metrics_and_metadata(seeded, small_loaders, tmp_path):
    model = MnistModel()
    path = save_checkpoint(model, tmp_path / "model.pt", epochs=3, lr=0.5, metrics={"val_acc": 0.9},
                           history=[{"a": 1.0}])
    loaded = load_checkpoint(path)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    assert evaluate(loaded, small_loaders[1]) == evaluate(model, small_loaders[1])
    assert loaded.metadata["epochs"] == 3 and loaded.metadata["metrics"] == {"val_acc": 0.9}
    assert loaded.metadata["versions"]["torch"] == torch.__version__


def test_bare_state_dict_from_the_tutorial_loads(seeded, tmp_path):
    model = MnistModel()
    torch.save(model.state_dict(), tmp_path / "mnist-logistic.pth")
    loaded = load_checkpoint(tmp_path / "mnist-logistic.pth")
    assert torch.equal(loaded.linear.weight, model.linear.weight) and loaded.metadata == {}


def test_failed_save_leaves_previous_checkpoint_intact(seeded, tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    save_checkpoint(MnistModel(), path, epochs=1)
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(MnistModel(), path, epochs=2)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]  # no temporary file left behind


def test_metadata_must_be_plain_values(tmp_path):
    with pytest.raises(TypeError, match="metadata metadata.opt is a SGD"):
        save_checkpoint(MnistModel(), tmp_path / "m.pt", opt=torch.optim.SGD(MnistModel().parameters(), 0.1))
    assert not (tmp_path / "m.pt").exists()


def test_foreign_pickle_is_refused_and_never_run(tmp_path, capfd):
    path = tmp_path / "evil.pt"
    torch.save({"format": "mnist_helpers.checkpoint", "state_dict": Payload()}, path)
    with pytest.raises(CheckpointError, match="not safe to load"):
        load_checkpoint(path)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError):
        load_checkpoint(plain)
    assert "pwned" not in capfd.readouterr().out


def test_wrong_shapes_are_refused(tmp_path):
    path = tmp_path / "big.pt"
    torch.save({"linear.weight": torch.zeros(10, 1024), "linear.bias": torch.zeros(10)}, path)
    with pytest.raises(CheckpointError, match=r"not fit MnistModel\(\): linear\.weight is \(10, 1024\), not \(10, 784"):
        load_checkpoint(path)


def test_other_files_are_refused_clearly(tmp_path):
    (tmp_path / "notes.txt").write_text("not a checkpoint", encoding="utf-8")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_checkpoint(tmp_path / "notes.txt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a checkpoint of the series' models"):
        load_checkpoint(tmp_path / "list.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


# Every model of the series: the checkpoint names its architecture and settings, and loading rebuilds it.
SERIES = [
    (MnistModel, {}, {"architecture": "linear"}),
    (MnistMLP, {"hidden": 32}, {"architecture": "mlp", "hidden": 32}),
    (MnistCNN, {"channels": (4, 8)}, {"architecture": "cnn", "channels": [4, 8]}),
]


@pytest.mark.parametrize("model_class, settings, named", SERIES)
def test_each_model_round_trips_with_its_architecture(seeded, tmp_path, model_class, settings, named):
    model = model_class(**settings)
    path = save_checkpoint(model, tmp_path / "model.pt", epochs=1)
    assert torch.load(path, weights_only=True)["model"] == named
    loaded = load_checkpoint(path)
    assert type(loaded) is model_class and loaded.metadata["epochs"] == 1
    assert loaded.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    images = torch.rand(3, 1, 28, 28)
    assert torch.equal(loaded(images), model(images))


@pytest.mark.parametrize("model_class, settings, named", SERIES)
def test_checkpoints_written_before_they_named_their_model_still_load(seeded, tmp_path, model_class, settings, named):
    """Version 1 (and bare state dicts): no architecture field, recognised from the weights' names and shapes."""
    model = model_class(**settings)
    metadata = {"epochs": 2, "versions": {"torch": str(torch.__version__)}}
    torch.save({"format": FORMAT, "version": 1, "state_dict": model.state_dict(), "metadata": metadata},
               tmp_path / "v1.pt")  # the layout save_checkpoint wrote before version 2
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    for name in ("v1.pt", "bare.pth"):
        loaded = load_checkpoint(tmp_path / name)
        assert type(loaded) is model_class and architecture(loaded) == named
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    assert load_checkpoint(tmp_path / "v1.pt").metadata == metadata


def named_checkpoint(path, model, named) -> None:
    """A checkpoint whose architecture field says ``named``, holding ``model``'s weights."""
    torch.save({"format": FORMAT, "version": 2, "model": named, "state_dict": model.state_dict(), "metadata": {}}, path)


@pytest.mark.parametrize("weights, named, message", [
    (MnistModel(), {"architecture": "mlp", "hidden": 32},
     r"holds weights that do not fit MnistMLP\(hidden=32\): hidden\.weight is missing"),
    (MnistMLP(hidden=32), {"architecture": "mlp", "hidden": 64},
     r"do not fit MnistMLP\(hidden=64\): hidden\.weight is \(32, 784\), not \(64, 784\)"),
    (MnistCNN(channels=(4, 8)), {"architecture": "cnn", "channels": [8, 8]},
     r"do not fit MnistCNN\(channels=\[8, 8\]\): conv1\.weight is \(4, 1, 5, 5\), not \(8, 1, 5, 5\)"),
    (MnistMLP(hidden=32), {"architecture": "mlp", "hidden": 10**9},  # built without memory: refused, not allocated
     r"do not fit MnistMLP\(hidden=1000000000\)"),
    (MnistModel(), {"architecture": "resnet"}, r"names a model this version of mnist_helpers does not know"),
    (MnistModel(), "linear", r"names a model this version of mnist_helpers does not know"),
    (MnistMLP(hidden=32), {"architecture": "mlp", "hidden": "wide"}, r"names the mlp model with settings that cannot"),
    (MnistCNN(), ["cnn"], r"names a model this version of mnist_helpers does not know \(\['cnn'\]\)"),
    (MnistCNN(), {"architecture": ["cnn"]}, r"names a model this version of mnist_helpers does not know"),
    (MnistCNN(), {"architecture": "cnn", "channels": [16]}, r"names the cnn model with settings that cannot build"),
    (MnistCNN(), {"architecture": "cnn", "channels": []}, r"names the cnn model with settings that cannot build"),
    (MnistCNN(), {"architecture": "cnn", "channels": {}}, r"names the cnn model with settings that cannot build"),
])
def test_a_checkpoint_whose_weights_do_not_fit_its_model_is_refused_in_one_line(tmp_path, weights, named, message):
    named_checkpoint(tmp_path / "model.pt", weights, named)
    with pytest.raises(CheckpointError, match=message) as refused:
        load_checkpoint(tmp_path / "model.pt")
    assert "\n" not in str(refused.value) and str(refused.value).startswith(f"{tmp_path / 'model.pt'} ")


@pytest.mark.parametrize("broken", [float("nan"), float("inf")])
def test_weights_that_are_not_numbers_are_refused(seeded, tmp_path, broken):
    model = MnistMLP(hidden=8)
    with torch.no_grad():
        model.hidden.weight.fill_(broken)
    save_checkpoint(model, tmp_path / "diverged.pt")
    with pytest.raises(CheckpointError, match=r"diverged\.pt holds weights that are not numbers \(NaN or infinite\) "
                                              r"in hidden\.weight: the training that saved it diverged"):
        load_checkpoint(tmp_path / "diverged.pt")


def test_a_state_dict_in_pytorchs_legacy_format_loads(seeded, tmp_path):
    model = MnistMLP(hidden=8)
    torch.save(model.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    loaded = load_checkpoint(tmp_path / "old.pt")
    assert type(loaded) is MnistMLP and architecture(loaded) == {"architecture": "mlp", "hidden": 8}
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


def test_only_the_series_models_are_saved(tmp_path):
    with pytest.raises(TypeError, match=r"not a Sequential: save its weights with torch.save\(model.state_dict\(\)"):
        save_checkpoint(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)), tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
