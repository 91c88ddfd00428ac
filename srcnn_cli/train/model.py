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
            nn.init.zeros_(conv.bias)

    def numpy_weights(self) -> list[tuple]:
        """[(weight OIHW float32, bias float32)] per layer, for the ONNX writer."""
        return [
            (conv.weight.detach().cpu().float().numpy(), conv.bias.detach().cpu().float().numpy())
            for conv in (self.conv1, self.conv2, self.conv3)
        ]
