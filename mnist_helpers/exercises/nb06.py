"""Exercises of notebook 6: the most confident mistake, accuracy per digit, the most frequent confusion."""

from __future__ import annotations

import torch
import torch.nn as nn

from . import Exercise, Wrong, call


class _Fixed(nn.Module):
    """A 'model' that returns the outputs it is given for each image index (images are indices here)."""

    def __init__(self, outputs: torch.Tensor):
        super().__init__()
        self.outputs = outputs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.outputs[images.reshape(len(images), -1)[:, 0].long()]


def _most_confident_mistake(answer) -> str:
    # Five images (their 'pixels' are their index). Image 1 is right with 0.99; image 3 is wrong with about
    # 0.9 (the answer); image 4 is wrong with about 0.6; image 0 is right; image 2 is wrong with about 0.5.
    outputs = torch.tensor([[4.0, 0, 0], [0, 9.0, 0], [0, 0.2, 0.2], [0, 0, 4.0], [0, 1.6, 0.6]])
    labels = torch.tensor([0, 1, 0, 1, 2])
    images = torch.arange(5).float().reshape(5, 1, 1, 1)
    got = call(answer, _Fixed(outputs), images, labels, given="a model, 5 images and their labels")
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise Wrong(f"return the position of one image, got a tensor of shape {list(got.shape)}")
        if got.is_floating_point():
            raise Wrong("this looks like a probability: return the position (index) of the image")
        got = got.item()
    if isinstance(got, float):
        raise Wrong("this looks like a probability: return the position (index) of the image")
    if got == 1:
        raise Wrong("that image is the model's most confident answer, but it is right: look only at the mistakes")
    if got == 2:
        raise Wrong("that is the mistake the model was least sure about: take the largest probability among the mistakes")
    if got != 3:
        raise Wrong("that is not the wrong prediction with the highest softmax probability")
    return "now look at that image in the test set: would you have got it right?"


def _per_digit(answer) -> str:
    matrix = torch.tensor([[8, 2, 0], [1, 3, 0], [1, 1, 4]])
    got = call(answer, matrix.clone(), given="a 3x3 confusion matrix")
    truth = matrix.diag() / matrix.sum(dim=1)
    if not isinstance(got, torch.Tensor) or got.shape != (3,):
        raise Wrong("return one accuracy per digit: a tensor of shape [number of digits]")
    got = got.float()
    if torch.allclose(got, matrix.diag() / matrix.sum(dim=0)):
        raise Wrong("you divided by the column sums (how often each digit was predicted): rows are the true digits, "
                    "divide by the row sums")
    if torch.allclose(got, matrix.diag().float()):
        raise Wrong("these are counts of right answers: divide each by how many images of that digit there are (its row sum)")
    if not torch.allclose(got, truth):
        raise Wrong("for each digit: the diagonal (right answers) divided by that digit's row sum")
    return "the diagonal over the row sums."


def _top_confusion(answer) -> str:
    matrix = torch.tensor([[50, 2, 9], [1, 60, 0], [12, 3, 40]])
    got = call(answer, matrix.clone(), given="a 3x3 confusion matrix")
    if isinstance(got, torch.Tensor):
        got = tuple(got.tolist())
    if not isinstance(got, tuple) or len(got) != 2:
        raise Wrong("return a pair (true digit, predicted digit)")
    got = tuple(int(x) for x in got)
    if got[0] == got[1]:
        raise Wrong("that is on the diagonal, where the model is right: leave the diagonal out")
    if got == (0, 2):
        raise Wrong("you have the pair backwards: the row is the true digit, the column the predicted one")
    if got != (2, 0):
        raise Wrong("that is not the largest count off the diagonal")
    return "the largest count off the diagonal, read as (row, column): (true digit, predicted digit)."


q1 = Exercise("q1", _most_confident_mistake, "F.softmax(model(images), dim=1).max(dim=1) gives each image's highest "
              "probability and the predicted digit; keep the images where the prediction differs from the label.")
q2 = Exercise("q2", _per_digit, "matrix.diag() holds the right answers of each digit; matrix.sum(dim=1) how many images of "
              "each digit there are.")
q3 = Exercise("q3", _top_confusion, "copy the matrix, set its diagonal to 0 (fill_diagonal_), then find the largest entry: "
              "divmod(flat_index, number_of_columns) gives its row and column.")
