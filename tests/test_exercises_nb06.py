"""Notebook 6's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_exercises import assert_right, assert_wrong, mnist_data, right_cases, wrong_cases  # noqa: F401

from mnist_helpers.exercises import nb06


def probabilities(model, images):
    with torch.no_grad():
        return F.softmax(model(images), dim=1)


def most_confident_mistake(model, images, labels):
    confidence, predicted = probabilities(model, images).max(dim=1)
    confidence[predicted == labels] = -1
    return confidence.argmax().item()


def by_positions(model, images, labels):
    confidence, predicted = probabilities(model, images).max(dim=1)
    wrong = (predicted != labels).nonzero().flatten()
    return wrong[confidence[wrong].argmax()]  # a 0-d tensor


def by_a_loop(model, images, labels):
    best, best_probability = None, -1.0
    for i in range(len(images)):
        probs = probabilities(model, images[i:i + 1])[0]
        if probs.argmax().item() != labels[i].item() and probs.max().item() > best_probability:
            best, best_probability = i, probs.max().item()
    return best


def by_numpy(model, images, labels):
    confidence, predicted = probabilities(model, images).max(dim=1)
    return np.where(predicted.numpy() != labels.numpy(), confidence.numpy(), 0).argmax()


def by_log_probabilities(model, images, labels):
    with torch.no_grad():
        log_confidence, predicted = F.log_softmax(model(images), dim=1).max(dim=1)
    return torch.where(predicted != labels, log_confidence, -torch.inf).argmax()


def mistakes_by(score, model, images, labels, best=True):
    """The position of the mistake with the best (or worst) ``score`` per image."""
    with torch.no_grad():
        outputs = model(images)
    wrong = outputs.argmax(dim=1) != labels
    values = score(outputs)
    return int(torch.where(wrong, values, -torch.inf if best else torch.inf).argmax() if best else
               torch.where(wrong, values, torch.inf).argmin())


def top_probability(outputs):
    return F.softmax(outputs, dim=1).max(dim=1).values


def the_case_answer(model, images, labels):
    return most_confident_mistake(model, images, labels)


def marks_the_labels(model, images, labels):
    confidence, predicted = probabilities(model, images).max(dim=1)
    labels[predicted == labels] = -1  # changes the caller's labels
    return torch.where(labels == -1, -1.0, confidence).argmax().item()


def top_confusion(matrix):
    off_diagonal = matrix.clone()
    off_diagonal.fill_diagonal_(0)
    return divmod(off_diagonal.argmax().item(), matrix.shape[1])


def by_a_double_loop(matrix):
    best = None
    for true in range(len(matrix)):
        for predicted in range(len(matrix)):
            if true != predicted and (best is None or matrix[true, predicted] > matrix[best]):
                best = (true, predicted)
    return best


def blanks_in_place(matrix):
    matrix.fill_diagonal_(0)
    return divmod(matrix.argmax().item(), matrix.shape[1])


RIGHT = {
    "q1": [most_confident_mistake, by_positions, by_a_loop, by_numpy, by_log_probabilities],
    "q2": [lambda m: m.diag() / m.sum(dim=1),
           lambda m: torch.diagonal(m) / m.sum(1),
           lambda m: [m[i, i].item() / m[i].sum().item() for i in range(len(m))],
           lambda m: np.diag(m.numpy()) / m.numpy().sum(axis=1),
           lambda m: (m.diag() / m.sum(dim=1, keepdim=True).squeeze()).double()],
    "q3": [top_confusion,
           lambda m: np.unravel_index((m - torch.diag(m.diag())).argmax().item(), tuple(m.shape)),
           by_a_double_loop,
           lambda m: torch.nonzero((m - torch.diag(m.diag())) == (m - torch.diag(m.diag())).max())[0],
           lambda m: [(flat := m.masked_fill(torch.eye(len(m), dtype=torch.bool), -1).argmax()) // len(m),
                      flat % len(m)]],
}

WRONG = {
    "q1": [(lambda m, x, y: top_probability(m(x)).argmax().item(), "most confident answer, but it is right"),
           (lambda m, x, y: mistakes_by(top_probability, m, x, y, best=False), "least sure about"),
           (lambda m, x, y: mistakes_by(lambda o: o.max(dim=1).values, m, x, y), "largest raw output"),
           (lambda m, x, y: (m(x).argmax(dim=1) != y).nonzero()[0, 0].item(), "that is the first mistake"),
           (lambda m, x, y: top_probability(m(x))[the_case_answer(m, x, y)].item(), "looks like a probability"),
           (lambda m, x, y: m(x).argmax(dim=1)[the_case_answer(m, x, y)].item(), "the digit the model predicted"),
           (lambda m, x, y: y[the_case_answer(m, x, y)].item(), "that image's label"),
           (lambda m, x, y: m(x).argmax(dim=1) != y, "should be one number"),
           (marks_the_labels, "changed the tensor it was given"),
           (lambda m, x, y: 4, "not the wrong prediction with the highest")],  # right for the first case only
    "q2": [(lambda m: m.diag() / m.sum(dim=0), "column sums"),
           (lambda m: m.diag(), "counts of right answers"),
           (lambda m: m.diag() / m.sum(), "divided by all the images"),
           (lambda m: 100 * m.diag() / m.sum(dim=1), "percentages"),
           (lambda m: m.diag() // m.sum(dim=1), "integer division"),
           (lambda m: 1 - m.diag() / m.sum(dim=1), "fractions of mistakes"),
           (lambda m: m.diag().sum() / m.sum(), "got []"),
           (lambda m: m.diag()[:, None] / m.sum(dim=1, keepdim=True), "got [3, 1]"),
           (lambda m: m.diag() / (m.sum(dim=1) + 1), "the right answers (the diagonal) divided by")],
    "q3": [(lambda m: divmod(m.argmax().item(), m.shape[1]), "on the diagonal"),
           (lambda m: top_confusion(m)[::-1], "backwards"),
           (lambda m: (m - torch.diag(m.diag())).max().item(), "how many times that mistake happens"),
           (lambda m: (m - torch.diag(m.diag())).argmax(), "position in the flattened matrix"),
           (blanks_in_place, "changed the tensor it was given"),
           (lambda m: (*top_confusion(m), 0), "got 3 values"),
           (lambda m: (2, 0), "is not where the largest count")],  # right for the first case only
}


@pytest.mark.parametrize("exercise, answer", right_cases(nb06, RIGHT))
def test_right_answers_are_correct(exercise, answer, mnist_data):  # noqa: F811
    assert_right(exercise, answer, mnist_data)


@pytest.mark.parametrize("exercise, answer, words, others", wrong_cases(nb06, WRONG))
def test_wrong_answers_get_their_own_message(exercise, answer, words, others, mnist_data):  # noqa: F811
    assert_wrong(exercise, answer, words, others, mnist_data)
