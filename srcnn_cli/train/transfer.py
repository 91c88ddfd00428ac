"""Start a network from a trained one with another middle filter size (e.g. 9-3-5 from 9-5-5).

Networks f1-f2-f3 that share f1, f3, n1, n2 and the channel count differ only in the middle
layer, so layers 1 and 3 are copied as they are. The middle layer (f2 x f2, n1 -> n2) is fitted
by ridge least squares so that its pre-activations match the trained network's on the layer-1
features of some training sub-images: the best f2 x f2 stand-in for the trained f2' x f2' layer,
given the features it will see. Measured on our 9-5-5 x3 (Set5 32.51): the fit alone gives a
9-3-5 at 32.30 dB and a 9-1-5 at 31.30 before any training, where cropping the centre of each
5 x 5 filter gives 29.59 and 27.65 (bicubic: 30.39).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import TrainingError
from .model import SRCNN

FIT_SUBIMAGES = 1500  # ~0.7 M feature vectors from 33 x 33 sub-images, for <= 64 * 25 + 1 unknowns
RIDGE = 1e-3  # relative to the mean diagonal of the normal equations; keeps the solve well posed


def same_shape(a: SRCNN, b: SRCNN) -> bool:
    return all(
        x.weight.shape == y.weight.shape for x, y in ((a.conv1, b.conv1), (a.conv2, b.conv2), (a.conv3, b.conv3))
    )


def check_transferable(model: SRCNN, source: SRCNN) -> None:
    for name in ("conv1", "conv3"):
        if getattr(model, name).weight.shape != getattr(source, name).weight.shape:
            raise TrainingError(
                "--init needs a checkpoint with the same f1, f3, n1, n2 and channels "
                f"(layer {name[-1]}: {tuple(getattr(source, name).weight.shape)} in the checkpoint, "
                f"{tuple(getattr(model, name).weight.shape)} here)"
            )
    if model.conv2.kernel_size[0] > source.conv2.kernel_size[0]:
        raise TrainingError(
            f"--init can shrink the middle filter, not grow it ({source.conv2.kernel_size[0]} -> "
            f"{model.conv2.kernel_size[0]})"
        )


@torch.no_grad()
def fit_middle_layer(model: SRCNN, source: SRCNN, inputs: np.ndarray, seed: int) -> None:
    """Copy layers 1 and 3 from ``source`` and fit ``model``'s layer 2 to match its output.

    ``inputs`` are training sub-images (N x C x H x W); a seeded sample of them is used.
    """
    check_transferable(model, source)
    model.conv1.load_state_dict(source.conv1.state_dict())
    model.conv3.load_state_dict(source.conv3.state_dict())
    picked = np.sort(np.random.default_rng([seed, 11]).permutation(len(inputs))[:FIT_SUBIMAGES])
    small, large = model.conv2.kernel_size[0], source.conv2.kernel_size[0]
    margin = (large - small) // 2  # centre the small filter where the large one is centred
    unknowns = model.conv2.in_channels * small * small + 1  # weights of one output, and its bias
    normal = torch.zeros(unknowns, unknowns, dtype=torch.float64)
    moments = torch.zeros(unknowns, model.conv2.out_channels, dtype=torch.float64)
    for start in range(0, len(picked), 100):  # normal equations, accumulated in small chunks
        chunk = np.ascontiguousarray(inputs[picked[start : start + 100]], dtype=np.float32)
        features = F.relu(source.conv1(torch.from_numpy(chunk)))
        target = source.conv2(features)  # pre-activation: the ReLU follows both layers alike
        if margin:
            features = features[:, :, margin:-margin, margin:-margin]
        columns = F.unfold(features, small)  # N x (n1 * f2 * f2) x positions, weight order
        design = columns.permute(0, 2, 1).reshape(-1, columns.shape[1]).double()
        design = torch.cat([design, torch.ones(len(design), 1, dtype=design.dtype)], dim=1)
        normal += design.T @ design
        moments += design.T @ target.permute(0, 2, 3, 1).reshape(-1, target.shape[1]).double()
    normal += RIDGE * normal.diagonal().mean() * torch.eye(unknowns, dtype=normal.dtype)
    solution = torch.linalg.solve(normal, moments)
    n2, n1 = model.conv2.out_channels, model.conv2.in_channels
    model.conv2.weight.copy_(solution[:-1].T.reshape(n2, n1, small, small))
    model.conv2.bias.copy_(solution[-1])
