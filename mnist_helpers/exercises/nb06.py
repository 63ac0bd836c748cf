"""Exercises of notebook 6: the most confident mistake, accuracy per digit, the most frequent confusion."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import Exercise, Wrong, call, close, explain, is_one_number, number, numbers_in, whole_numbers


class _Fixed(nn.Module):
    """A 'model' that gives fixed outputs to each image: image i holds the number i in its first pixel."""

    def __init__(self, outputs: torch.Tensor):
        super().__init__()
        self.outputs = nn.Parameter(outputs, requires_grad=False)  # a parameter, so that the model has a device

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.outputs[images.reshape(len(images), -1)[:, 0].long()]


def _images(n: int) -> torch.Tensor:
    images = torch.zeros(n, 1, 28, 28)
    images[:, 0, 0, 0] = torch.arange(n).float()
    return images


def _mistakes_case():
    """Seven images, ten digits. Image 4 is the answer: wrong (predicted 8, labelled 9) with probability 0.94.
    Image 2 is the most confident of all, but right; image 3 is the least confident mistake; image 5 is the
    mistake with the largest raw output (10), yet its probability is only 0.53."""
    outputs = torch.zeros(7, 10)
    labels = torch.tensor([3, 1, 5, 1, 9, 0, 7])
    for image, digit, value in [(0, 3, 4.0), (1, 0, 2.0), (2, 5, 9.0), (3, 2, 0.5), (4, 8, 5.0), (5, 6, 10.0),
                                (6, 7, 3.0)]:
        outputs[image, digit] = value
    outputs[5, 7] = 9.9
    return outputs, labels


def _random_case():
    generator = torch.Generator().manual_seed(6)
    outputs = torch.randn(50, 10, generator=generator) * 3
    return outputs, torch.randint(0, 10, (50,), generator=generator)


def _most_confident_mistake(answer) -> str:
    for outputs, labels in (_mistakes_case(), _random_case()):
        n = len(labels)
        result = call(answer, _Fixed(outputs), _images(n), labels, given=f"a model, {n} images and their labels")
        got = number(result, "the position of the image")
        if got != int(got):
            raise Wrong(f"{got:g} looks like a probability: return the position (index) of the image"
                        if 0 <= got <= 1 else f"{got:g} is not a position: return the index of the image")
        confidence, predicted = F.softmax(outputs, dim=1).max(dim=1)
        wrong = predicted != labels
        truth = int(torch.where(wrong, confidence, -1.0).argmax())
        if got == truth:
            continue
        if not 0 <= got < n:
            raise explain(got, [
                (predicted[truth], f"{got} is the digit the model predicted for that image: return the image's "
                                   "position instead"),
                (labels[truth], f"{got} is that image's label: return the image's position instead"),
            ], f"{got} is not a position among the {n} images")
        raise explain(got, [
            (confidence.argmax(), "that image is the model's most confident answer, but it is right: look only at the "
                                  "mistakes"),
            (torch.where(wrong, confidence, 2.0).argmin(), "that is the mistake the model was least sure about: take "
                                                           "the largest probability among the mistakes"),
            (torch.where(wrong, outputs.max(dim=1).values, -1e9).argmax(), "that mistake has the largest raw output, "
             "not the largest probability: raw outputs are not comparable between images, softmax first"),
            (wrong.nonzero()[0, 0], "that is the first mistake: take the one with the highest probability"),
        ], "that is not the wrong prediction with the highest softmax probability")
    return "now look at that image in the test set: would you have got it right?"


def _confusion(seed: int) -> torch.Tensor:
    """A 10x10 confusion matrix with a large diagonal and one clear largest mistake, row and column sums different."""
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randint(0, 20, (10, 10), generator=generator)
    matrix += torch.diag(torch.randint(800, 1100, (10,), generator=generator))
    matrix[5, 3] = 61
    return matrix


_SMALL = torch.tensor([[8, 2, 0], [1, 3, 0], [1, 1, 4]])


def _per_digit(answer) -> str:
    for matrix in (_SMALL, _confusion(0)):
        n = len(matrix)
        got = numbers_in(call(answer, matrix, given=f"a {n}x{n} confusion matrix"), "the accuracies")
        if got.shape != (n,):
            raise Wrong(f"return one accuracy per digit, a tensor of shape [{n}] for a {n}x{n} matrix; got "
                        f"{list(got.shape)}")
        truth = matrix.diag() / matrix.sum(dim=1)
        if close(got, truth, 1e-6):
            continue
        right = matrix.diag().double()
        raise explain(got, [
            (right / matrix.sum(dim=0), "you divided by the column sums (how often each digit was predicted): rows "
                                        "are the true digits, divide by the row sums"),
            (right, "these are counts of right answers: divide each by how many images of that digit there are "
                    "(its row sum)"),
            (right / matrix.sum(), "you divided by all the images: divide each digit's right answers by the number "
                                   "of images of that digit"),
            (100 * truth, "these are percentages: return fractions between 0 and 1"),
            (matrix.diag() // matrix.sum(dim=1), "integer division (//) rounds every fraction down to 0: divide "
                                                 "with /"),
            (1 - truth, "these are the fractions of mistakes: return the fractions predicted right"),
        ], "for each digit: the right answers (the diagonal) divided by that digit's number of images (its row sum)")
    return "the diagonal over the row sums."


def _top_confusion(answer) -> str:
    for matrix in (torch.tensor([[50, 2, 9], [1, 60, 0], [12, 3, 40]]), _confusion(1)):
        n = len(matrix)
        result = call(answer, matrix, given=f"a {n}x{n} confusion matrix")
        off_diagonal = matrix - torch.diag(matrix.diag())
        row, column = divmod(int(off_diagonal.argmax()), n)
        if is_one_number(result):
            single = number(result, "the answer")
            raise explain(single, [
                (matrix[row, column], f"{single:g} is how many times that mistake happens: return where it is, the "
                                      "pair (true digit, predicted digit)"),
                (row * n + column, f"{single:g} is the position in the flattened matrix: turn it into the pair "
                                   "(row, column)"),
            ], "return a pair (true digit, predicted digit)")
        got = whole_numbers(result, "the answer", 2)
        if got == (row, column):
            continue
        if got[0] == got[1]:
            raise Wrong("that is on the diagonal, where the model is right: leave the diagonal out")
        if got == (column, row):
            raise Wrong("you have the pair backwards: the row is the true digit, the column the predicted one")
        raise Wrong(f"{got} is not where the largest count off the diagonal is")
    return "the largest count off the diagonal, read as (row, column): (true digit, predicted digit)."


q1 = Exercise("q1", _most_confident_mistake, "three steps: each image's highest softmax probability and the digit it "
              "goes with (torch.max along dim=1 gives both); keep only the images where that digit is not the label; "
              "among those, the position of the largest probability.", "most_confident_mistake")
q2 = Exercise("q2", _per_digit, "a row of the matrix holds all the images of one true digit, and the diagonal the "
              "right answers: divide, digit by digit.", "per_digit_accuracy")
q3 = Exercise("q3", _top_confusion, "the diagonal holds the right answers, so take it out of the race first, on a "
              "copy, without changing the matrix you are given; then find the largest entry, and turn its position "
              "into a row and a column.", "top_confusion")
