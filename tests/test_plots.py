"""Each figure draws what it says: right number of panels, titles and axis labels."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mnist_helpers import MnistCNN, MnistMLP, MnistModel  # noqa: E402
from mnist_helpers.plots import plot_confusion_matrix, plot_history, plot_label_counts, plot_weights, show_images  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_images_marks_mistakes(train_tensors):
    images, labels = train_tensors
    preds = labels[:10].clone()
    preds[3] = (preds[3] + 1) % 10
    fig = show_images(images[:10], labels[:10], preds, ncols=5)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 10
    assert titles[0] == f"label {labels[0].item()}\npred {labels[0].item()}"
    red = [ax for ax in fig.axes if ax.title.get_color() == "red"]
    assert len(red) == 1 and red[0] is fig.axes[3]


def test_show_images_without_predictions(train_tensors):
    images, labels = train_tensors
    fig = show_images(images[:6], labels[:6], ncols=4)
    assert [ax.get_title() for ax in fig.axes[:6]] == [str(int(x)) for x in labels[:6]]
    assert len(fig.axes[5].images) == 1 and len(fig.axes[7].images) == 0  # grid padded with empty panels


@pytest.mark.parametrize("with_predictions", [False, True])
def test_no_title_runs_into_the_row_above(train_tensors, with_predictions):
    images, labels = train_tensors
    fig = show_images(images[:16], labels[:16], labels[:16] if with_predictions else None, title="A grid")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for above, below in zip(fig.axes[:8], fig.axes[8:], strict=True):
        title = below.title.get_window_extent(renderer)
        assert title.y1 <= above.get_window_extent(renderer).y0, "a second-row title overlaps the image above it"


def test_plot_history_draws_every_recorded_curve():
    history = [{"val_acc": 0.8 + i / 100, "val_loss": 1 - i / 10, "train_loss": 1.0} for i in range(4)]
    fig = plot_history(history)  # what fit records: no training accuracy
    acc, loss = fig.axes
    assert acc.get_xlabel() == "epoch" and acc.get_ylabel() == "accuracy"
    assert [line.get_label() for line in acc.lines] == ["validation"]
    assert [line.get_label() for line in loss.lines] == ["validation", "training"]
    assert list(acc.lines[0].get_ydata()) == pytest.approx([0.8, 0.81, 0.82, 0.83])
    fig = plot_history([dict(r, train_acc=0.7) for r in history])
    assert [line.get_label() for line in fig.axes[0].lines] == ["validation", "training"]


def test_confusion_matrix_plot_writes_counts():
    matrix = torch.arange(100).reshape(10, 10)
    fig = plot_confusion_matrix(matrix)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 100 and texts[23] == "23"
    assert fig.axes[0].get_xlabel() == "predicted digit"


def test_the_confusion_matrix_colours_the_mistakes_on_their_own_scale():
    matrix = torch.full((10, 10), 2)
    matrix.fill_diagonal_(900)
    matrix[3, 5] = 40  # the worst mistake: the darkest cell, although the diagonal is 20 times larger
    fig = plot_confusion_matrix(matrix)
    image = fig.axes[0].images[0]
    assert image.get_clim() == (0, 40)
    colours = image.to_rgba(image.get_array())
    assert tuple(colours[0, 0]) == tuple(image.get_cmap().get_bad())  # the right answers: gray, off the scale
    assert colours[3, 5, :3].sum() < colours[3, 4, :3].sum()  # darker than a mistake of 2
    assert fig.axes[0].texts[0].get_fontweight() == "bold"
    assert plot_confusion_matrix(matrix, darkest=80).axes[0].images[0].get_clim() == (0, 80)  # a shared scale


def test_weights_and_label_counts(seeded):
    fig = plot_weights(MnistModel())
    assert [ax.get_title() for ax in fig.axes] == [f"digit {d}" for d in range(10)]
    fig = plot_label_counts({"train": torch.ones(10), "val": torch.ones(10) * 2})
    assert len(fig.axes[0].patches) == 20 and fig.axes[0].get_ylabel() == "number of images"


@pytest.mark.parametrize("model_class", [MnistMLP, MnistCNN])
def test_plot_weights_refuses_models_without_one_weight_image_per_digit(model_class):
    with pytest.raises(TypeError, match=f"^plot_weights draws an MnistModel's weights, one 28x28 image per digit; "
                                        f"a {model_class.__name__} has no layer"):
        plot_weights(model_class())
    assert plt.get_fignums() == []  # refused before drawing anything
