"""Notebook 6's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import numpy as np
import torch
import torch.nn.functional as F


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


def precision_by_a_loop(matrix):
    precisions = []
    for digit in range(len(matrix)):
        predicted_as_digit = matrix[:, digit].sum().item()
        precisions.append(matrix[digit, digit].item() / predicted_as_digit)
    return precisions


def precision_in_place(matrix):
    totals = matrix.sum(dim=0)
    matrix.fill_diagonal_(0)  # changes the caller's matrix
    return 1 - matrix.sum(dim=0) / totals


def most_confused_pair(matrix):
    both = matrix + matrix.t()
    both.fill_diagonal_(0)
    return divmod(both.argmax().item(), len(matrix))


def pair_by_a_loop(matrix):
    best, best_count = None, -1
    for a in range(len(matrix)):
        for b in range(a + 1, len(matrix)):
            count = (matrix[a, b] + matrix[b, a]).item()
            if count > best_count:
                best, best_count = {a, b}, count
    return best  # a set: the pair has no order


def pair_by_numpy(matrix):
    both = np.triu(matrix.numpy() + matrix.numpy().T, k=1)
    return np.unravel_index(both.argmax(), both.shape)  # a tuple of NumPy integers


def pair_as_tensor(matrix):
    both = (matrix + matrix.t()).masked_fill(torch.eye(len(matrix), dtype=torch.bool), -1)
    return torch.nonzero(both == both.max())[0]  # a tensor [a, b]


def top_confusion(matrix):
    """The most frequent single mistake, (true digit, predicted digit): one direction only."""
    mistakes = matrix.clone()
    mistakes.fill_diagonal_(0)
    return divmod(mistakes.argmax().item(), len(matrix))


def pair_blanks_in_place(matrix):
    matrix.fill_diagonal_(0)  # changes the caller's matrix
    return divmod((matrix + matrix.t()).argmax().item(), len(matrix))


def blanked(matrix):
    both = matrix + matrix.t()
    both.fill_diagonal_(0)
    return both


RIGHT = {
    "q1": [lambda m: m.diag() / m.sum(dim=0),
           lambda m: torch.diagonal(m) / m.sum(0),
           precision_by_a_loop,
           lambda m: np.diag(m.numpy()) / m.numpy().sum(axis=0),
           lambda m: m.t().diag() / m.t().sum(dim=1),
           lambda m: (m.diag() / m.sum(dim=0, keepdim=True)).flatten(),
           lambda m: tuple(m.diag().double() / m.sum(dim=0))],
    "q2": [most_confused_pair,
           pair_by_a_loop,
           pair_by_numpy,
           pair_as_tensor,
           lambda m: most_confused_pair(m)[::-1],  # the larger digit first
           lambda m: [(flat := (m + m.t()).triu(1).argmax()) // len(m), flat % len(m)],
           lambda m: frozenset(most_confused_pair(m))],
    "q3": [most_confident_mistake, by_positions, by_a_loop, by_numpy, by_log_probabilities],
}

WRONG = {
    "q1": [(lambda m: m.diag() / m.sum(dim=1), "accuracy per true digit that the cell above shows"),
           (lambda m: m.diag(), "counts of right predictions"),
           (lambda m: m.diag() / m.sum(), "divided by all the images"),
           (lambda m: 100 * m.diag() / m.sum(dim=0), "percentages"),
           (lambda m: m.diag() // m.sum(dim=0), "integer division"),
           (lambda m: 1 - m.diag() / m.sum(dim=0), "fractions of wrong predictions"),
           (lambda m: m.diag().sum() / m.sum(), "got []"),
           (lambda m: m.diag() / m.sum(dim=0, keepdim=True), "got [1, 3] (no keepdim)"),
           (precision_in_place, "changed the tensor it was given"),
           (lambda m: m.diag() / (m.sum(dim=0) + 1), "for each predicted digit (column)")],
    "q2": [(lambda m: divmod((m + m.t()).argmax().item(), len(m)), "on the diagonal"),
           (top_confusion, "most frequent single mistake, but count both directions"),
           (lambda m: blanked(m).max().item(), "how many times those two digits are taken for each other"),
           (lambda m: (m - torch.diag(m.diag())).max().item(), "how many times the most frequent single"),
           (lambda m: blanked(m).argmax(), "position in the flattened matrix"),
           (pair_blanks_in_place, "changed the tensor it was given"),
           (lambda m: (*most_confused_pair(m), 0), "got 3 values"),
           (lambda m: tuple(d + 1 for d in most_confused_pair(m)), "are not two digits of a 3x3 matrix"),
           (lambda m: (1, 2), "another pair is taken for each other more often")],  # right for the first case only
    "q3": [(lambda m, x, y: top_probability(m(x)).argmax().item(), "most confident answer, but it is right"),
           (lambda m, x, y: mistakes_by(top_probability, m, x, y, best=False), "least sure about"),
           (lambda m, x, y: mistakes_by(lambda o: o.max(dim=1).values, m, x, y), "largest raw output"),
           (lambda m, x, y: (m(x).argmax(dim=1) != y).nonzero()[0, 0].item(), "that is the first mistake"),
           (lambda m, x, y: top_probability(m(x))[the_case_answer(m, x, y)].item(), "looks like a probability"),
           (lambda m, x, y: m(x).argmax(dim=1)[the_case_answer(m, x, y)].item(), "the digit the model predicted"),
           (lambda m, x, y: y[the_case_answer(m, x, y)].item(), "that image's label"),
           (lambda m, x, y: m(x).argmax(dim=1) != y, "should be one number"),
           (marks_the_labels, "changed the tensor it was given"),
           (lambda m, x, y: 4, "not the wrong prediction with the highest")],  # right for the first case only
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["for each predicted digit (column)"],
    "q2": ["another pair is taken for each other more often"],
    "q3": ["not the wrong prediction with the highest"],
}
