"""The networks in PyTorch: SRCNN (f1-f2-f3 with n1 and n2 filters) and FSRCNN(d, s, m).

SRCNN follows the bicubic contract: it sees the bicubic-upscaled plane and gives a plane of the
same size. Training uses valid (unpadded) convolutions as in the paper; ``padded=True`` pads each
layer by replicating edges, which is exactly what the exported ONNX model does at inference.

FSRCNN (Dong, Loy, Tang, ECCV 2016) follows the low-resolution contract: it sees the
low-resolution plane and gives one ``scale`` times larger. Feature extraction 5x5 (d maps),
shrinking 1x1 (s), m mapping layers 3x3 (s), expanding 1x1 (d), each followed by a PReLU, then a
9x9 deconvolution with stride ``scale``. Every layer pads by replicating edges, in training as
at inference (``onnxmodel.fsrcnn_onnx_bytes`` writes the same sums).

Each network owns its parameter groups (``param_groups``): the optimiser gives each group its
rate as a multiple of the run's, so the loop names no layer.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class SRCNN(nn.Module):
    contract = "bicubic"

    def __init__(self, filter_sizes=(9, 5, 5), n1: int = 64, n2: int = 32, channels: int = 1):
        super().__init__()
        f1, f2, f3 = filter_sizes
        self.conv1 = nn.Conv2d(channels, n1, f1)
        self.conv2 = nn.Conv2d(n1, n2, f2)
        self.conv3 = nn.Conv2d(n2, channels, f3)

    def forward(self, x: torch.Tensor, padded: bool = False) -> torch.Tensor:
        for index, conv in enumerate((self.conv1, self.conv2, self.conv3)):
            if padded:
                r = conv.kernel_size[0] // 2
                x = F.pad(x, (r, r, r, r), mode="replicate")
            x = conv(x)
            if index < 2:
                x = F.relu(x)
        return x

    def param_groups(self, last_layer_ratio: float) -> list[tuple[list[nn.Parameter], float]]:
        """(parameters, rate multiple): the first two layers, then the last."""
        early = list(self.conv1.parameters()) + list(self.conv2.parameters())
        return [(early, 1.0), (list(self.conv3.parameters()), last_layer_ratio)]

    def paper_init(self) -> None:
        """The paper's initialisation: weights N(0, 0.001^2), biases 0."""
        for conv in (self.conv1, self.conv2, self.conv3):
            nn.init.normal_(conv.weight, mean=0.0, std=1e-3)
            conv.bias.data.zero_()

    @torch.no_grad()
    def identity_init(self) -> None:
        """Start as an exact identity, so the untrained network already equals bicubic.

        Each input channel is carried through two filters of layers 1 and 2 as x and -x (ReLU
        keeps both halves) and recombined by layer 3; the other filters keep their random init
        but layer 3 reads them with zero weights, so they start silent and are learnt. The
        network stays a plain f1-f2-f3 SRCNN; only its starting point changes. This matters
        most for 3-channel models, which from a random start spend their first many minutes
        below bicubic.
        """
        channels = self.conv1.in_channels
        c1, c2, c3 = (conv.kernel_size[0] // 2 for conv in (self.conv1, self.conv2, self.conv3))
        carried = 2 * channels
        if self.conv1.out_channels < carried or self.conv2.out_channels < carried:
            raise ValueError(f"identity init needs n1 and n2 of at least {carried}")
        self.conv1.weight[:carried].zero_()
        self.conv1.bias[:carried].zero_()
        self.conv2.weight[:carried].zero_()
        self.conv2.weight[carried:, :carried].zero_()  # learnt features start without the carry
        self.conv2.bias[:carried].zero_()
        self.conv3.weight.zero_()
        self.conv3.bias.zero_()
        for c in range(channels):
            plus, minus = 2 * c, 2 * c + 1
            self.conv1.weight[plus, c, c1, c1], self.conv1.weight[minus, c, c1, c1] = 1.0, -1.0
            self.conv2.weight[plus, plus, c2, c2] = self.conv2.weight[minus, minus, c2, c2] = 1.0
            self.conv3.weight[c, plus, c3, c3], self.conv3.weight[c, minus, c3, c3] = 1.0, -1.0

    def numpy_weights(self) -> list[tuple]:
        """[(weight OIHW float32, bias float32)] per layer, for the ONNX writer."""
        return [
            (conv.weight.detach().cpu().float().numpy(), conv.bias.detach().cpu().float().numpy())
            for conv in (self.conv1, self.conv2, self.conv3)
        ]


DECONV_SIZE = 9  # the paper's deconvolution filter


def deconv_geometry(scale: int, size: int = DECONV_SIZE) -> tuple[int, int]:
    """(reach, start): the low-resolution pixels to pad on each side so that every output pixel
    has all its taps, and the first output pixel's index in the unpadded transposed convolution
    of the padded plane. The kernel's centre tap of low-resolution pixel i lands on output pixel
    ``scale * i + (scale - 1) // 2``: its centre for odd scales, the nearer-left one for even."""
    centre = size // 2
    offset = (scale - 1) // 2  # output index of pixel 0's centre tap
    # the first output pixel takes taps from ``(centre + offset) / scale`` pixels to its left, the
    # last one from ``(centre - offset - 1) / scale + 1`` to its right
    reach = max(math.ceil((centre + offset) / scale), (centre - offset - 1) // scale + 1)
    # padded pixel j = i + reach puts its tap t on output j * scale + t; the centre tap of i = 0
    # must land on ``offset``
    start = reach * scale + centre - offset
    return reach, start


class FSRCNN(nn.Module):
    contract = "lowres"

    def __init__(self, d: int = 56, s: int = 12, m: int = 4, scale: int = 3, channels: int = 1):
        super().__init__()
        self.scale = scale
        self.feature = nn.Conv2d(channels, d, 5)
        widths = [d, s] + [s] * m + [d]
        sizes = [1] + [3] * m + [1]
        self.body = nn.ModuleList(nn.Conv2d(a, b, k) for a, b, k in zip(widths[:-1], widths[1:], sizes))
        self.prelus = nn.ModuleList(nn.PReLU(width) for width in widths)
        self.deconv = nn.ConvTranspose2d(d, channels, DECONV_SIZE, stride=scale)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The paper's start: He initialisation for the convolutions (PReLU's slopes at 0.25),
        the deconvolution N(0, 0.001^2), biases 0."""
        for conv in [self.feature, *self.body]:
            nn.init.kaiming_normal_(conv.weight, a=0.25, nonlinearity="leaky_relu")
            conv.bias.zero_()
        nn.init.normal_(self.deconv.weight, std=1e-3)
        self.deconv.bias.zero_()

    def convolutions(self) -> list[nn.Conv2d]:
        return [self.feature, *self.body]

    def forward(self, x: torch.Tensor, padded: bool = True) -> torch.Tensor:
        """``padded`` is always so: the output is ``scale`` times the input on both axes."""
        height, width = x.shape[-2:]
        for conv, prelu in zip(self.convolutions(), self.prelus):
            r = conv.kernel_size[0] // 2
            if r:
                x = F.pad(x, (r, r, r, r), mode="replicate")
            x = prelu(conv(x))
        reach, start = deconv_geometry(self.scale)
        x = F.pad(x, (reach, reach, reach, reach), mode="replicate")
        x = self.deconv(x)
        return x[..., start : start + height * self.scale, start : start + width * self.scale]

    def param_groups(self, last_layer_ratio: float) -> list[tuple[list[nn.Parameter], float]]:
        """The convolutions and PReLUs, then the deconvolution (the paper: a tenth of the rate)."""
        early = [p for module in (*self.convolutions(), *self.prelus) for p in module.parameters()]
        return [(early, 1.0), (list(self.deconv.parameters()), last_layer_ratio)]

    def paper_init(self) -> None:
        self.reset_parameters()

    def numpy_weights(self) -> dict:
        """The layers as float32 arrays, for the ONNX writer (``onnxmodel.FsrcnnWeights``)."""

        def array(tensor):  # a parameter (torch types conv biases as optional; ours are always there)
            return tensor.detach().cpu().float().numpy()

        return {
            "convs": [(array(c.weight), array(c.bias)) for c in self.convolutions()],
            "slopes": [array(p.weight) for p in self.prelus],
            "deconv": (array(self.deconv.weight), array(self.deconv.bias)),
            "scale": self.scale,
        }
