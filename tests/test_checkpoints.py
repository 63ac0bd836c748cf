"""save_checkpoint / load_checkpoint: round trip, atomic writes, safe loading."""

import os
import pickle

import pytest
import torch

from mnist_helpers import CheckpointError, MnistModel, evaluate, load_checkpoint, save_checkpoint


class Payload:
    """Something a hostile pickle could smuggle in."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_round_trip_keeps_weights_metrics_and_metadata(seeded, small_loaders, tmp_path):
    model = MnistModel()
    path = save_checkpoint(model, tmp_path / "model.pt", epochs=3, lr=0.5, metrics={"val_acc": 0.9}, history=[{"a": 1.0}])
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
    with pytest.raises(CheckpointError, match=r"MnistModel needs .*\(10, 784\)"):
        load_checkpoint(path)


def test_other_files_are_refused_clearly(tmp_path):
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_checkpoint(tmp_path / "notes.txt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not an MnistModel checkpoint"):
        load_checkpoint(tmp_path / "list.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
