"""Notebook 5's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import statistics

import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers import evaluate

# --- one step, written in several ways --------------------------------------------------------------

def train_step(model, images, labels, optimizer):  # the notebook's order: loss, backward, step, zero_grad
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def zero_grad_first(model, images, labels, optimizer):  # the order most tutorials teach
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def with_the_models_own_step(model, images, labels, optimizer):
    model.zero_grad()
    loss = model.training_step((images, labels))
    loss.backward()
    optimizer.step()
    return float(loss)


def with_a_loss_module(model, images, labels, optimizer):
    loss = nn.CrossEntropyLoss()(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()  # a 0-d tensor without its graph


def by_log_softmax(model, images, labels, optimizer):
    loss = F.nll_loss(F.log_softmax(model(images), dim=1), labels)
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


def step_before_backward(model, images, labels, optimizer):
    loss = F.cross_entropy(model(images), labels)
    optimizer.step()
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def returns_the_tensor(model, images, labels, optimizer):
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss


def loss_after_the_step(model, images, labels, optimizer):
    train_step(model, images, labels, optimizer)
    return F.cross_entropy(model(images), labels).item()


def its_own_optimizer(model, images, labels, optimizer):
    return train_step(model, images, labels, torch.optim.SGD(model.parameters(), lr=0.3))


def forgets_return(model, images, labels, optimizer):
    train_step(model, images, labels, optimizer)


def returns_nan(model, images, labels, optimizer):
    train_step(model, images, labels, optimizer)
    return float("nan")


def normalises_in_place(model, images, labels, optimizer):
    images -= 0.5
    return train_step(model, images + 0.5, labels, optimizer)


# --- one epoch ----------------------------------------------------------------------------------------

def train_epoch(model, loader, optimizer):
    losses = [train_step(model, images, labels, optimizer) for images, labels in loader]
    return sum(losses) / len(losses)


def epoch_with_totals(model, loader, optimizer):
    total, batches = 0.0, 0
    for images, labels in loader:
        total += zero_grad_first(model, images, labels, optimizer)
        batches += 1
    return total / batches


def epoch_over_len(model, loader, optimizer):
    total = 0.0
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)


def epoch_as_tensor(model, loader, optimizer):
    return torch.tensor([train_step(model, x, y, optimizer) for x, y in loader]).mean()


def epoch_losses(model, loader, optimizer):
    return [train_step(model, x, y, optimizer) for x, y in loader]


def epoch_step_after_the_loop(model, loader, optimizer):
    losses = []
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        losses.append(loss.item())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return sum(losses) / len(losses)


def epoch_of_tensors(model, loader, optimizer):
    total = 0
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        total = total + loss  # the graph of every batch kept alive
    return total / len(loader)


def epoch_normalising_in_place(model, loader, optimizer):
    losses = []
    for images, labels in loader:
        images -= 0.5
        losses.append(train_step(model, images + 0.5, labels, optimizer))
    return sum(losses) / len(losses)


def losses_of(step, model, loader, optimizer):
    return [step(model, x, y, optimizer) for x, y in loader]


# --- exact accuracy -----------------------------------------------------------------------------------

def accuracy_of(model, loader):
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += len(labels)
    return correct / total


def accuracy_in_inference_mode(model, loader):
    with torch.inference_mode():
        results = [(model(x).argmax(dim=1) == y) for x, y in loader]
    return torch.cat(results).float().mean()


def accuracy_by_concatenation(model, loader):
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([torch.max(model(x), 1)[1] for x, _ in loader])
        labels = torch.cat([y for _, y in loader])
    return (predicted == labels).sum().item() / len(loader.dataset)


def batch_accuracies(model, loader):
    with torch.no_grad():
        return [(model(x).argmax(dim=1) == y).float().mean().item() for x, y in loader]


RIGHT = {
    "q1": [train_step, zero_grad_first, with_the_models_own_step, with_a_loss_module, by_log_softmax],
    "q2": [train_epoch, epoch_with_totals, epoch_over_len, epoch_as_tensor,
           lambda model, loader, optimizer: statistics.mean(losses_of(train_step, model, loader, optimizer))],
    "q3": [accuracy_of, accuracy_in_inference_mode, accuracy_by_concatenation,
           lambda model, loader: evaluate(model, loader)["val_acc"]],
}

WRONG = {
    "q1": [(no_zero_grad, "sum of both batches' gradients"),
           (no_step, "the weights did not move"),
           (step_before_backward, "gradients of the previous batch"),
           (returns_the_tensor, "not the tensor"),
           (loss_after_the_step, "loss after the step"),
           (its_own_optimizer, "not as one step of the optimizer you are given"),
           (forgets_return, "did you forget `return`"),
           (returns_nan, "should be a finite number"),
           (normalises_in_place, "changed the tensor it was given")],
    "q2": [(lambda m, loader, o: train_step(m, *next(iter(loader)), o), "stopped after the first batch"),
           (lambda m, loader, o: statistics.mean(losses_of(no_zero_grad, m, loader, o)), "left over between batches"),
           (lambda m, loader, o: losses_of(train_step, m, loader, o)[-1], "loss of the last batch"),
           (lambda m, loader, o: losses_of(train_step, m, loader, o)[0], "loss of the first batch"),
           (lambda m, loader, o: sum(losses_of(train_step, m, loader, o)), "sum of the batches' losses"),
           (lambda m, loader, o: sum(losses_of(train_step, m, loader, o)) / 200, "divided by the number of images"),
           (lambda m, loader, o: sum(loss * len(y) for loss, (_, y) in zip(losses_of(train_step, m, loader, o), loader,
                                                                          strict=True)) / 200,
            "weighted each batch's loss"),
           (lambda m, loader, o: train_epoch(m, loader, o) and train_epoch(m, loader, o), "went over the loader twice"),
           (epoch_step_after_the_loop, "only the last batch moved"),
           (epoch_losses, "return one number"),
           (epoch_of_tensors, "keeps the whole computation graph"),
           (epoch_normalising_in_place, "changed the images or labels of the loader"),
           (lambda m, loader, o: train_epoch(m, loader, o) * float("nan"), "the mean loss is nan")],
    "q3": [(lambda m, loader: 100 * accuracy_of(m, loader), "is a percentage"),
           (lambda m, loader: accuracy_of(m, loader) * 150, "number of right answers"),
           (lambda m, loader: statistics.mean(batch_accuracies(m, loader)), "averaged the batches' accuracies"),
           (lambda m, loader: accuracy_of(m, loader) * 150 / (len(loader) * 64), "batches times the batch size"),
           (lambda m, loader: (batch_accuracies(m, loader)[0] + batch_accuracies(m, loader)[1]) / 2,
            "left out the last, short batch"),
           (lambda m, loader: batch_accuracies(m, loader)[0], "first batch only"),
           (lambda m, loader: 1 - accuracy_of(m, loader), "fraction of mistakes"),
           (lambda m, loader: sum((m(x).argmax(dim=1) == y).sum().item() for x, y in loader) / 150,
            "PyTorch tracked gradients"),
           (lambda m, loader: accuracy_of(m, loader) * float("nan"), "the accuracy is nan")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["not as one step of the optimizer you are given"],
}
