"""Every exercise check: a right answer is "Correct", typical wrong answers get their hint, a stub is "not answered yet"."""

import math

import pytest
import torch
import torch.nn.functional as F

from mnist_helpers import load_mnist
from mnist_helpers.exercises import is_stub, nb01, nb02, nb03, nb04, nb05, nb06, nb07


def verdict(exercise, answer) -> str:
    return exercise.verdict(answer)


def stub(*args):
    """What the student edition leaves: a docstring and ..."""
    ...


@pytest.fixture(scope="module")
def mnist(data_root):
    return load_mnist(train=True, data_root=data_root), load_mnist(train=False, data_root=data_root)


# --- the framework -----------------------------------------------------------------------------

def test_stubs_and_missing_answers_are_not_answered_yet():
    assert is_stub(stub) and not is_stub(verdict)
    for exercise, answer in [(nb01.q1, ...), (nb03.q1, stub), (nb04.q1, stub), (nb07.q1, stub), (nb07.q2, stub)]:
        assert verdict(exercise, answer).startswith("Not answered yet"), exercise.name


def test_a_crash_in_the_learners_code_is_one_line_not_a_traceback():
    def softmax(outputs):
        return outputs / 0 + undefined_name  # noqa: F821

    line = verdict(nb04.q1, softmax)
    assert line.startswith("Not yet: softmax raised NameError") and "\n" not in line and "Traceback" not in line
    assert "hint()" in line


def test_a_forgotten_return_is_named():
    def flatten(images):
        images.reshape(-1, 784)

    assert "did you forget `return`?" in verdict(nb03.q2, flatten)


def test_hint_prints_a_hint_not_the_solution(capsys):
    nb04.q1.hint()
    printed = capsys.readouterr().out
    assert printed.startswith("Hint: ") and "def softmax" not in printed


# --- notebook 1 ----------------------------------------------------------------------------------

def test_nb01_count_of_sevens(mnist):
    (_, labels), (_, test_labels) = mnist
    assert verdict(nb01.q1, (labels == 7).sum().item()).startswith("Correct")
    assert verdict(nb01.q1, (labels == 7).sum()).startswith("Correct")  # a one-element tensor is fine
    assert "in the test set" in verdict(nb01.q1, (test_labels == 7).sum().item())
    assert "one count per digit" in verdict(nb01.q1, torch.bincount(labels))
    assert "all training images" in verdict(nb01.q1, 60_000)


def test_nb01_first_sevens(mnist):
    (images, labels), _ = mnist
    sevens = (labels == 7).nonzero().flatten()[:8]
    assert verdict(nb01.q2, images[sevens]).startswith("Correct")
    assert "lost the channel dimension" in verdict(nb01.q2, images[sevens][:, 0])
    assert "of every digit" in verdict(nb01.q2, images[:8])
    assert "first eight 7s" in verdict(nb01.q2, images[(labels == 7).nonzero().flatten()[1:9]])


def test_nb01_average_image(mnist):
    (images, _), _ = mnist
    assert verdict(nb01.q3, images.mean(dim=0)[0]).startswith("Correct")
    assert "divide by 255" in verdict(nb01.q3, images.mean(dim=0)[0] * 255)
    assert "average over the images (dim=0)" in verdict(nb01.q3, images.mean(dim=1))


# --- notebook 2 ----------------------------------------------------------------------------------

def test_nb02_split_counts_and_batches(mnist):
    (_, labels), _ = mnist
    _, val7 = nb02._split(7)
    train7, _ = nb02._split(7)
    assert verdict(nb02.q1, labels[val7]).startswith("Correct")
    assert "series' split (seed 42)" in verdict(nb02.q1, labels[nb02._split(42)[1]])
    assert "the training part" in verdict(nb02.q1, labels[train7])
    assert "not a random split" in verdict(nb02.q1, labels[-10_000:])
    counts = torch.bincount(labels[val7], minlength=10)
    assert verdict(nb02.q2, counts).startswith("Correct")
    assert "shares" in verdict(nb02.q2, counts / counts.sum())
    assert "not the training part" in verdict(nb02.q2, torch.bincount(labels[train7], minlength=10))

    def right(images, batch_size):
        full, rest = divmod(images, batch_size)
        return full + (rest > 0), rest or batch_size

    def floor_only(images, batch_size):
        return images // batch_size, images % batch_size

    def zero_last(images, batch_size):
        return math.ceil(images / batch_size), images % batch_size

    assert verdict(nb02.q3, right).startswith("Correct")
    assert "the last, smaller batch counts too" in verdict(nb02.q3, floor_only)
    assert "a last batch of 0 images does not exist" in verdict(nb02.q3, zero_last)


# --- notebook 3 ----------------------------------------------------------------------------------

def test_nb03_parameters_flatten_colour():
    assert verdict(nb03.q1, lambda i, o: i * o + o).startswith("Correct")
    assert "one bias per output" in verdict(nb03.q1, lambda i, o: i * o)
    assert "added the sizes" in verdict(nb03.q1, lambda i, o: i + o)
    assert verdict(nb03.q2, lambda x: x.reshape(-1, 784)).startswith("Correct")
    assert "each row should hold a whole image" in verdict(nb03.q2, lambda x: x.reshape(-1, 28))
    assert "put one image per row" in verdict(nb03.q2, lambda x: x.reshape(784, -1))
    assert verdict(nb03.q3, 3 * 32 * 32 * 10 + 10).startswith("Correct")
    assert "3 values per pixel" in verdict(nb03.q3, 32 * 32 * 10 + 10)
    assert "add one bias per digit" in verdict(nb03.q3, 3 * 32 * 32 * 10)


# --- notebook 4 ----------------------------------------------------------------------------------

def stable_softmax(outputs):
    exps = torch.exp(outputs - outputs.max(dim=1, keepdim=True).values)
    return exps / exps.sum(dim=1, keepdim=True)


def test_nb04_softmax():
    assert verdict(nb04.q1, stable_softmax).startswith("Correct")
    naive = lambda x: torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)  # noqa: E731
    assert "subtract each row's maximum" in verdict(nb04.q1, naive)
    columns = lambda x: torch.exp(x - x.max()) / torch.exp(x - x.max()).sum(dim=0, keepdim=True)  # noqa: E731
    assert "columns sum to 1" in verdict(nb04.q1, columns)
    assert "negative" in verdict(nb04.q1, lambda x: x / x.sum(dim=1, keepdim=True))


def test_nb04_cross_entropy():
    def right(outputs, labels):
        shifted = outputs - outputs.max(dim=1, keepdim=True).values
        log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
        return -log_probs[range(len(labels)), labels].mean()

    assert verdict(nb04.q2, right).startswith("Correct")
    assert "applied softmax twice" in verdict(nb04.q2, lambda o, y: F.cross_entropy(F.softmax(o, dim=1), y))
    assert "MINUS the log" in verdict(nb04.q2, lambda o, y: -right(o, y))
    assert "summed over the batch" in verdict(nb04.q2, lambda o, y: right(o, y) * len(y))
    unstable = lambda o, y: -torch.log(torch.exp(o)[range(len(y)), y] / torch.exp(o).sum(dim=1)).mean()  # noqa: E731
    assert "subtract each row's maximum" in verdict(nb04.q2, unstable)


def test_nb04_predict():
    assert verdict(nb04.q3, lambda o: o.argmax(dim=1)).startswith("Correct")
    assert "one prediction per column" in verdict(nb04.q3, lambda o: o.argmax(dim=0))
    assert "largest values themselves" in verdict(nb04.q3, lambda o: o.max(dim=1).values)


# --- notebook 5 ----------------------------------------------------------------------------------

def test_nb05_train_step():
    def right(model, images, labels, optimizer):
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss.item()

    def no_zero_grad(model, images, labels, optimizer):
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    def no_step(model, images, labels, optimizer):
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.zero_grad()
        return loss.item()

    def tensor_loss(model, images, labels, optimizer):
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    assert verdict(nb05.q1, right).startswith("Correct")
    assert "call optimizer.zero_grad()" in verdict(nb05.q1, no_zero_grad)
    assert "the weights did not move" in verdict(nb05.q1, no_step)
    assert "loss.item()" in verdict(nb05.q1, tensor_loss)


def test_nb05_train_epoch():
    def step(model, images, labels, optimizer, zero=True):
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        if zero:
            optimizer.zero_grad()
        return loss.item()

    def right(model, loader, optimizer):
        losses = [step(model, x, y, optimizer) for x, y in loader]
        return sum(losses) / len(losses)

    def first_batch_only(model, loader, optimizer):
        x, y = next(iter(loader))
        return step(model, x, y, optimizer)

    def no_zero_grad(model, loader, optimizer):
        losses = [step(model, x, y, optimizer, zero=False) for x, y in loader]
        return sum(losses) / len(losses)

    def last_loss(model, loader, optimizer):
        return [step(model, x, y, optimizer) for x, y in loader][-1]

    assert verdict(nb05.q2, right).startswith("Correct")
    assert "stopped after the first batch" in verdict(nb05.q2, first_batch_only)
    assert "call optimizer.zero_grad() after each step" in verdict(nb05.q2, no_zero_grad)
    assert "loss of the last batch" in verdict(nb05.q2, last_loss)


def test_nb05_exact_accuracy():
    def right(model, loader):
        correct = total = 0
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(dim=1) == y).sum().item()
                total += len(y)
        return correct / total

    def mean_of_batches(model, loader):
        with torch.no_grad():
            accs = [(model(x).argmax(dim=1) == y).float().mean().item() for x, y in loader]
        return sum(accs) / len(accs)

    def count(model, loader):
        with torch.no_grad():
            return sum((model(x).argmax(dim=1) == y).sum().item() for x, y in loader)

    assert verdict(nb05.q3, right).startswith("Correct")
    assert "averaged the batches' accuracies" in verdict(nb05.q3, mean_of_batches)
    assert "divide the number of right answers" in verdict(nb05.q3, count) or "is not the fraction" in verdict(nb05.q3, count)


# --- notebook 6 ----------------------------------------------------------------------------------

def test_nb06_mistakes_and_confusions():
    def right(model, images, labels):
        with torch.no_grad():
            confidence, preds = F.softmax(model(images), dim=1).max(dim=1)
        confidence[preds == labels] = -1
        return confidence.argmax().item()

    def most_confident(model, images, labels):
        with torch.no_grad():
            return F.softmax(model(images), dim=1).max(dim=1).values.argmax().item()

    def least_confident_mistake(model, images, labels):
        with torch.no_grad():
            confidence, preds = F.softmax(model(images), dim=1).max(dim=1)
        confidence[preds == labels] = 2
        return confidence.argmin().item()

    assert verdict(nb06.q1, right).startswith("Correct")
    assert "look only at the mistakes" in verdict(nb06.q1, most_confident)
    assert "least sure about" in verdict(nb06.q1, least_confident_mistake)

    assert verdict(nb06.q2, lambda m: m.diag() / m.sum(dim=1)).startswith("Correct")
    assert "column sums" in verdict(nb06.q2, lambda m: m.diag() / m.sum(dim=0))
    assert "counts of right answers" in verdict(nb06.q2, lambda m: m.diag())

    def top(m):
        m = m.clone()
        m.fill_diagonal_(0)
        return divmod(m.argmax().item(), m.shape[1])

    assert verdict(nb06.q3, top).startswith("Correct")
    assert "leave the diagonal out" in verdict(nb06.q3, lambda m: divmod(m.argmax().item(), m.shape[1]))
    assert "backwards" in verdict(nb06.q3, lambda m: tuple(reversed(top(m))))


# --- notebook 7 ----------------------------------------------------------------------------------

def test_nb07_checkpoints():
    def right(model, path, epochs, lr):
        torch.save({"state_dict": model.state_dict(), "epochs": epochs, "lr": lr}, path)

    def whole_model(model, path, epochs, lr):
        torch.save(model, path)

    def no_metadata(model, path, epochs, lr):
        torch.save({"state_dict": model.state_dict()}, path)

    assert verdict(nb07.q1, right).startswith("Correct")
    assert "not the model object itself" in verdict(nb07.q1, whole_model)
    assert "'epochs' and 'lr'" in verdict(nb07.q1, no_metadata)

    def load_or_refuse(path):
        try:
            return torch.load(path, weights_only=True)
        except Exception as err:
            raise ValueError(f"{path} is not a checkpoint: {err}") from None

    def unsafe(path):
        try:
            return torch.load(path, weights_only=False)
        except Exception as err:
            raise ValueError(f"{path} is not a checkpoint: {err}") from None

    def raw(path):
        return torch.load(path, weights_only=True)

    assert verdict(nb07.q2, load_or_refuse).startswith("Correct")
    assert "load with weights_only=True" in verdict(nb07.q2, unsafe)
    assert "let IndexError through: catch it and raise ValueError" in verdict(nb07.q2, raw)

    def same(a, b):
        sa, sb = a.state_dict(), b.state_dict()
        return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)

    assert verdict(nb07.q3, same).startswith("Correct")
    assert "'close' is not 'exactly'" in verdict(nb07.q3, lambda a, b: all(
        torch.allclose(p, q) for p, q in zip(a.parameters(), b.parameters())))
    assert "biases too" in verdict(nb07.q3, lambda a, b: torch.equal(a.linear.weight, b.linear.weight))


def test_the_readme_shows_a_real_verdict():
    from pathlib import Path

    def softmax(outputs):
        return torch.exp(outputs) / torch.exp(outputs).sum(dim=1, keepdim=True)

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert verdict(nb04.q1, softmax) in readme.splitlines()


# --- notebook 8 ----------------------------------------------------------------------------------

def test_nb08_parameters_relu_model():
    from mnist_helpers.exercises import nb08

    assert verdict(nb08.q1, lambda i, h, o: i * h + h + h * o + o).startswith("Correct")
    assert "counted the weights only" in verdict(nb08.q1, lambda i, h, o: i * h + h * o)
    assert "only the hidden layer" in verdict(nb08.q1, lambda i, h, o: i * h + h)
    assert verdict(nb08.q2, lambda x: x.clamp(min=0)).startswith("Correct")
    assert "does not flip their sign" in verdict(nb08.q2, lambda x: x.abs())
    assert "True/False" in verdict(nb08.q2, lambda x: x > 0)
    assert "sigmoid" in verdict(nb08.q2, torch.sigmoid)
    from torch import nn

    right = lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.ReLU(), nn.Linear(h, 10))  # noqa: E731
    assert verdict(nb08.q3, right).startswith("Correct")
    linear = lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.Linear(h, 10))  # noqa: E731
    assert "still linear" in verdict(nb08.q3, linear)
    unflattened = lambda h: nn.Sequential(nn.Linear(784, h), nn.ReLU(), nn.Linear(h, 10))  # noqa: E731
    assert "flatten each image first" in verdict(nb08.q3, unflattened)
