"""The training configuration: every knob of a run, saved inside each checkpoint."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
    def filter_sizes(self) -> tuple[int, int, int]:
        parts = self.arch.split("-")
        if len(parts) != 3 or not all(part.isdigit() and int(part) % 2 == 1 for part in parts):
            raise ValueError(f"arch must be three odd sizes like 9-5-5, got {self.arch!r}")
        sizes = tuple(int(part) for part in parts)
        return sizes  # type: ignore[return-value]

    @property
    def shrink(self) -> int:
        """Pixels lost on each side by the three valid convolutions."""
        return sum((f - 1) // 2 for f in self.filter_sizes)
