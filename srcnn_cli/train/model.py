"""The SRCNN network in PyTorch: three convolutions, f1-f2-f3 with n1 and n2 filters.

Training uses valid (unpadded) convolutions as in the paper; ``padded=True`` pads each layer by
replicating edges, which is exactly what the exported ONNX model does at inference.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SRCNN(nn.Module):
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
