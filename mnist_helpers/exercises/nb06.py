"""Exercises of notebook 6: precision per digit, the most confused pair of digits, the most confident mistake."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import Exercise, Wrong, as_float64_tensor, as_number, as_whole_numbers, call, close, explain, is_one_number


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
        got = as_number(result, "the position of the image")
        if got != int(got):
            raise Wrong(f"{got:g} looks like a probability: return the position (index) of the image"
                        if 0 <= got <= 1 else f"{got:g} is not a position: return the index of the image",
                        "probability-not-position")
        confidence, predicted = F.softmax(outputs, dim=1).max(dim=1)
        wrong = predicted != labels
        truth = int(torch.where(wrong, confidence, -1.0).argmax())
        if got == truth:
            continue
        if not 0 <= got < n:
            raise explain(got, [
                (predicted[truth], "predicted-digit",
                                   f"{got} is the digit the model predicted for that image: return the image's "
                                   "position instead"),
                (labels[truth], "label-not-position",
                                f"{got} is that image's label: return the image's position instead"),
            ], f"{got} is not a position among the {n} images")
        raise explain(got, [
            (confidence.argmax(), "right-answers-included",
                                  "that image is the model's most confident answer, but it is right: look only at the "
                                  "mistakes"),
            (torch.where(wrong, confidence, 2.0).argmin(), "least-confident",
                                                           "that is the mistake the model was least sure about: take "
                                                           "the largest probability among the mistakes"),
            (torch.where(wrong, outputs.max(dim=1).values, -1e9).argmax(), "raw-outputs",
                                                                           "that mistake has the largest raw output, "
             "not the largest probability: raw outputs are not comparable between images, softmax first"),
            (wrong.nonzero()[0, 0], "first-mistake",
                                    "that is the first mistake: take the one with the highest probability"),
        ], "that is not the wrong prediction with the highest softmax probability")
    return "now look at that image in the test set: would you have got it right?"


def _confusion(seed: int) -> torch.Tensor:
    """A 10x10 confusion matrix with a large diagonal, row and column sums different."""
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randint(0, 20, (10, 10), generator=generator)
    return matrix + torch.diag(torch.randint(800, 1100, (10,), generator=generator))


_SMALL = torch.tensor([[8, 2, 0], [1, 3, 0], [1, 1, 4]])


def _precision(answer) -> str:
    for matrix in (_SMALL, _confusion(0)):
        n = len(matrix)
        got = as_float64_tensor(call(answer, matrix, given=f"a {n}x{n} confusion matrix"), "the precisions")
        if got.shape != (n,):
            raise Wrong(f"return one fraction per digit, a tensor of shape [{n}] for a {n}x{n} matrix; got "
                        f"{list(got.shape)}" + (" (no keepdim)" if got.numel() == n else ""), "wrong-shape")
        right = matrix.diag().double()
        truth = right / matrix.sum(dim=0)
        if close(got, truth, 1e-6):
            continue
        raise explain(got, [
            (right / matrix.sum(dim=1), "recall-not-precision",
                                        "this is the accuracy per true digit that the cell above shows (the rows): "
                                        "precision reads the columns, dividing by how often each digit was predicted"),
            (right, "counts-not-fractions",
                    "these are counts of right predictions: divide each by how often that digit was predicted (its "
                    "column sum)"),
            (right / matrix.sum(), "divided-by-all",
                                   "you divided by all the images: divide each digit's right predictions by the "
                                   "number of images predicted as that digit"),
            (100 * truth, "percentage", "these are percentages: return fractions between 0 and 1"),
            (matrix.diag() // matrix.sum(dim=0), "integer-division",
                                                 "integer division (//) rounds every fraction down to 0: divide "
                                                 "with /"),
            (1 - truth, "error-rate",
                        "these are the fractions of wrong predictions: return the fractions that are right"),
        ], "for each predicted digit (column): the right predictions (the diagonal) divided by how often that digit "
           "was predicted (its column sum)")
    return "the diagonal over the column sums: when the model says a digit, how often it is right."


def _pair_case() -> torch.Tensor:
    """Ten digits: the most frequent single mistake is a 5 taken for a 3 (61 times), but 4 and 9 are taken for
    each other 85 times in all (40 + 45)."""
    matrix = _confusion(1)
    matrix[5, 3], matrix[4, 9], matrix[9, 4] = 61, 40, 45
    return matrix


def _two_digits(result) -> tuple[int, int]:
    """The answer as two whole numbers; a set counts too (a set of one digit is that digit twice)."""
    if isinstance(result, (set, frozenset)) and len(result) in (1, 2):
        result = list(result) * (3 - len(result))
    return as_whole_numbers(result, "the answer", 2)


def _most_confused_pair(answer) -> str:
    for matrix in (torch.tensor([[50, 9, 0], [1, 60, 6], [2, 5, 40]]), _pair_case()):
        n = len(matrix)
        result = call(answer, matrix, given=f"a {n}x{n} confusion matrix")
        mistakes = matrix - torch.diag(matrix.diag())
        both = mistakes + mistakes.t()
        a, b = divmod(int(both.argmax()), n)
        row, column = divmod(int(mistakes.argmax()), n)
        if is_one_number(result):
            single = as_number(result, "the answer")
            raise explain(single, [
                (both[a, b], "count-not-digits",
                             f"{single:g} is how many times those two digits are taken for each other: return the "
                             "two digits themselves"),
                (mistakes[row, column], "single-count",
                                        f"{single:g} is how many times the most frequent single mistake happens: "
                                        "return the two digits most often taken for each other"),
                (torch.tensor([a * n + b, b * n + a]), "flat-index",
                                                       f"{single:g} is a position in the flattened matrix: turn it "
                                                       "into a row and a column, the two digits"),
            ], f"return the two digits, like (a, b); got one number, {single:g}",
                same=lambda got, value: bool((torch.as_tensor(value) == got).any()))
        got = _two_digits(result)
        if sorted(got) == [a, b]:
            continue
        if not all(0 <= digit < n for digit in got):
            raise Wrong(f"{got} are not two digits of a {n}x{n} matrix: each should be between 0 and {n - 1}",
                        "not-digits")
        if got[0] == got[1]:
            raise Wrong("that is on the diagonal, where the model is right: leave the diagonal out", "diagonal")
        if sorted(got) == sorted((row, column)):
            raise Wrong(f"a {row} taken for a {column} is the most frequent single mistake, but count both "
                        f"directions: add the times a {column} is taken for a {row}, and so for every pair",
                        "one-direction")
        raise Wrong(f"{got[0]} and {got[1]} are taken for each other {int(both[got])} times in all: another pair is "
                    "taken for each other more often")
    return "a mistake and its mirror across the diagonal, added: the two digits the model mixes up most."


q1 = Exercise(judge=_precision, hint="precision reads the matrix by its columns: a column holds every image the model "
              "predicted as one digit, and the diagonal the ones it got right; divide, digit by digit, as the cell "
              "above does with the rows.", answer="per_digit_precision", mistakes={
    "wrong-shape": "One precision per digit: a sum without keepdim, along one dimension.",
    "recall-not-precision": "Rows are true digits (recall), columns are predicted digits (precision): name both.",
    "counts-not-fractions": "The diagonal counts right predictions: divide by the column sums.",
    "divided-by-all": "Dividing by the total gives each digit's share of right answers: divide by its column sum.",
    "percentage": "The task asks for fractions between 0 and 1.",
    "integer-division": "// on integer tensors rounds down: use /.",
    "error-rate": "1 - precision is the share of wrong predictions: return the right ones.",
})
q2 = Exercise(judge=_most_confused_pair, hint="a 3 taken for a 5 sits at row 3, column 5, and a 5 taken for a 3 at row "
              "5, column 3: add every count to its mirror image across the diagonal (notebook 3 showed how to swap "
              "rows and columns), leave the diagonal out, then find the largest entry and turn its position into a "
              "row and a column, as the cell above does for single mistakes.", answer="most_confused_pair", mistakes={
    "count-not-digits": "They returned the count: the task asks for the two digits (row and column).",
    "single-count": "They returned a count: the task asks for two digits, counting both directions.",
    "flat-index": "argmax of a matrix gives a flat index: divmod by the width gives row and column.",
    "not-digits": "The numbers are out of range: look at how the flat index was turned into row and column.",
    "diagonal": "The diagonal holds right answers: zero it before looking for mistakes.",
    "one-direction": "A pair is mixed up both ways: add the matrix to its transpose before the argmax.",
})
q3 = Exercise(judge=_most_confident_mistake,
              hint="three steps: each image's highest softmax probability and the digit it "
              "goes with (torch.max along dim=1 gives both); keep only the images where that digit is not the label; "
              "among those, the position of the largest probability.", answer="most_confident_mistake", mistakes={
    "probability-not-position": "They returned the confidence: the task asks which image, its index.",
    "predicted-digit": "They returned the predicted digit: the index of the image is another number.",
    "label-not-position": "They returned the label: the index of the image is another number.",
    "right-answers-included": "Keep only the mistakes before taking the largest probability (a mask, or -1 where "
                              "right).",
    "least-confident": "argmin instead of argmax: the most confident mistake has the highest probability.",
    "raw-outputs": "Raw outputs are not comparable between images: softmax first, then compare probabilities.",
    "first-mistake": "The first mistake is not the most confident: compare the probabilities of all mistakes.",
})
