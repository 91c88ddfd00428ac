"""The training configuration: every knob of a run, saved inside each checkpoint. ``--arch``
names an SRCNN (``9-5-5``: filter sizes f1-f2-f3) or an FSRCNN (``models.fsrcnn_dims``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..models import fsrcnn_dims

RECIPES = ("paper", "fast")


@dataclass
class TrainConfig:
    # --- the network: f1-f2-f3 with n1 and n2 filters, on Y (1 channel) or RGB (3) ---
    arch: str = "9-5-5"
    scale: int = 3
    channels: int = 1
    n1: int = 64
    n2: int = 32

    # --- data: the paper's 33 x 33 sub-images at stride 14 from bicubic down/up pairs ---
    train_dirs: list[str] = field(default_factory=list)
    val_dir: str | None = None  # watched for progress only, never used to pick a checkpoint
    patch: int = 33
    stride: int = 14
    # random flips and 90-degree rotations; None = the recipe's choice (fast: on; paper: off,
    # as published)
    augment: bool | None = None
    # FSRCNN's augmentation: each image also shrunk by 0.9, 0.8, 0.7 and 0.6 before sub-images
    # are cut (patch and stride stay in output pixels; low-resolution models cut patch / scale)
    downscale_augment: bool = False

    # --- optimisation ---
    recipe: str = "fast"  # "paper": SGD as published; "fast": Adam + warm-up + cosine
    batch: int = 128
    samples: int = 0  # back-propagated sub-images in total; 0 means "from --minutes"
    minutes: float = 0.0  # wall-clock budget, turned into a sample budget after a short probe
    lr: float = 1e-3  # fast recipe peak learning rate (layers 1-2; layer 3 gets lr * last_layer_lr_ratio)
    last_layer_lr_ratio: float = 1.0  # fast recipe: Adam adapts per weight, so one rate serves all
    warmup_samples: int = 20_000
    seed: int = 0
    init: str | None = None  # checkpoint to start from (e.g. x3 weights for an x2 run)
    identity_init: bool = False  # start as an exact identity (= bicubic); see model.identity_init

    # --- bookkeeping ---
    out: str = "runs/default"
    device: str = "cpu"
    threads: int = 0  # 0 = torch's default
    eval_every_s: float = 180.0
    checkpoint_every_s: float = 120.0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def augmenting(self) -> bool:
        return self.recipe == "fast" if self.augment is None else self.augment

    @property
    def fsrcnn(self) -> tuple[int, int, int] | None:
        """(d, s, m) for an FSRCNN run, None for an SRCNN one."""
        return fsrcnn_dims(self.arch)

    @property
    def contract(self) -> str:
        """``bicubic`` (the network sees the bicubic plane) or ``lowres`` (the low-resolution one)."""
        return "lowres" if self.fsrcnn else "bicubic"

    @property
    def loss_crop(self) -> int:
        """Output pixels left out of the loss on each side: SRCNN's valid convolutions lose
        ``shrink``; FSRCNN pads every layer (as the paper does) and leaves out one input pixel's
        worth, whose taps reach furthest into the padding."""
        return self.scale if self.fsrcnn else self.shrink

    def check_arch(self) -> None:
        """ValueError, in the user's terms, when ``arch`` names no network."""
        if not self.fsrcnn:
            _ = self.filter_sizes

    @property
    def filter_sizes(self) -> tuple[int, int, int]:
        parts = self.arch.split("-")
        if len(parts) != 3 or not all(part.isdigit() and int(part) % 2 == 1 for part in parts):
            raise ValueError(f"arch must be three odd sizes like 9-5-5, or fsrcnn, got {self.arch!r}")
        sizes = tuple(int(part) for part in parts)
        return sizes  # type: ignore[return-value]

    @property
    def shrink(self) -> int:
        """Pixels lost on each side by the three valid convolutions (none for FSRCNN, padded)."""
        if self.fsrcnn:
            return 0
        return sum((f - 1) // 2 for f in self.filter_sizes)
