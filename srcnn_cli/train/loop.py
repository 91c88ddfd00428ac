"""The training loop, top to bottom: data, model, optimiser, schedule, steps, checkpoints.

A run lives in one folder (``config.out``):

    checkpoint.pt     the latest self-describing checkpoint (config, model, optimiser, step,
                      RNG state, data fingerprint, elapsed time, log); --resume continues it
    log.csv           one row per logged step (samples, loss, lr, validation PSNR)
    convergence.png   validation PSNR against back-propagated samples (the paper's Fig. 10)

Data order and augmentation are pure functions of (seed, step), so resuming from a checkpoint
replays exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import signal
import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import SrcnnError, TrainingError
from ..files import atomic_output, list_images, write_atomic
from ..imageio import load_uint8
from ..machine import cpu_name
from ..models import canonical_arch
from ..protocol import model_pair, score
from .config import RECIPES, TrainConfig
from .data import PairSpec, load_subimages
from .model import FSRCNN, SRCNN
from .transfer import fit_middle_layer, same_shape

RECORD = "config.json"
CHECKPOINT = "checkpoint.pt"
LOG = "log.csv"
LOG_FIELDS = ["step", "samples", "wall_s", "loss", "lr", "val_psnr"]
# Settings that say where and how visibly a run computes, not what: a resumed run may change them.
WHERE_FIELDS = ("device", "threads", "eval_every_s", "checkpoint_every_s")


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    samples: int
    wall_s: float
    val_psnr: float | None
    finished: bool  # False when stopped early (max_steps or Ctrl-C): --resume continues


Network = Union[SRCNN, FSRCNN]


def build_model(config: TrainConfig) -> Network:
    if config.fsrcnn:
        d, s, m = config.fsrcnn
        return FSRCNN(d, s, m, config.scale, config.channels)
    return SRCNN(config.filter_sizes, config.n1, config.n2, config.channels)


def start_from(model: Network, config: TrainConfig, source_state: dict, inputs: np.ndarray) -> None:
    """--init: the checkpoint's weights; for another middle filter size, fitted (``transfer``)."""
    source_config = check_init(config, source_state)
    if config.fsrcnn:
        source_config.scale = config.scale  # the deconvolution's weights serve any stride
    source = build_model(source_config)
    source.load_state_dict(source_state["model"])
    if isinstance(model, FSRCNN) or isinstance(source, FSRCNN) or same_shape(model, source):
        model.load_state_dict(source.state_dict())
    else:
        fit_middle_layer(model, source, inputs, config.seed)


def check_init(config: TrainConfig, source_state: dict) -> TrainConfig:
    """The --init weights' own configuration, when they can start this run (before any data)."""
    known = {k: v for k, v in source_state["config"].items() if k in TrainConfig.__dataclass_fields__}
    source_config = TrainConfig(**known)
    if bool(source_config.fsrcnn) != bool(config.fsrcnn):
        raise TrainingError(f"--init {source_config.arch} cannot start a {config.arch} run: another network")
    if config.fsrcnn and source_config.fsrcnn != config.fsrcnn:
        raise TrainingError(f"--init {source_config.arch} has other widths than {config.arch}")
    return source_config


def load_init(spec: str, scale: int, channels: int) -> dict:
    """--init: a checkpoint (``.pt``), an ONNX model file, or a bundled model's name
    (``9-1-5_x3``; an arch alone means the one at this run's scale), as a checkpoint-like state
    (``config`` and ``model``). A shipped model can so be continued with nothing but the package."""
    from ..models import looks_like_path, resolve_model

    path = Path(spec).expanduser()
    if path.suffix.lower() == ".pt" or (path.is_file() and path.suffix.lower() != ".onnx"):
        return load_checkpoint(path, missing="--init checkpoint not found:")
    if looks_like_path(spec) and not path.is_file():
        raise TrainingError(f"--init model not found: {spec}")
    try:
        loaded = resolve_model(spec, scale, channels)
    except SrcnnError as exc:
        raise TrainingError(f"--init {spec}: {exc}") from None
    return onnx_state(loaded.data, loaded.source)


def onnx_state(data: bytes, source: str) -> dict:
    """The weights of an SRCNN ONNX model (as srcnn-cli writes them) as a checkpoint-like state."""
    from ..onnxmodel import read_fsrcnn_state, read_layers

    def read_fsrcnn(data: bytes) -> dict:
        arch, tensors = read_fsrcnn_state(data)
        return {
            "config": {"arch": arch, "channels": tensors["feature.weight"].shape[1]},
            "model": {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()},
        }

    try:
        layers, metadata = read_layers(data)
        fsrcnn = read_fsrcnn(data) if metadata.get("srcnn.contract") == "lowres" else None
    except Exception as exc:  # protobuf's decode errors have no common type
        raise TrainingError(f"--init {source} is not a readable ONNX model ({exc})") from None
    if fsrcnn is not None:
        return fsrcnn
    if len(layers) < 3:
        raise TrainingError(
            f"--init {source}: not an SRCNN model written by srcnn-cli (it has no conv1/conv2/conv3 weights)"
        )
    w1, w2, w3 = (layer.weight for layer in layers[:3])
    config = {
        "arch": "-".join(str(w.shape[-1]) for w in (w1, w2, w3)),
        "n1": w1.shape[0],
        "n2": w2.shape[0],
        "channels": w1.shape[1],
    }
    model = {
        f"conv{i}.{part}": torch.from_numpy(np.array(getattr(layer, part)))
        for i, layer in enumerate(layers[:3], start=1)
        for part in ("weight", "bias")
    }
    return {"config": config, "model": model}


def build_optimizer(config: TrainConfig, model: Network) -> torch.optim.Optimizer:
    """The network's own parameter groups, each at its multiple of the run's rate."""
    if config.recipe == "paper":
        # The papers: SGD with momentum 0.9 and a tenth of the rate for the last layer (SRCNN:
        # 1e-4 and 1e-5, "a smaller learning rate in the last layer is important for the network
        # to converge"; FSRCNN: 1e-3 and 1e-4 for its deconvolution).
        rate = 1e-3 if config.fsrcnn else 1e-4
        groups = [{"params": params, "lr": rate * ratio} for params, ratio in model.param_groups(0.1)]
        return torch.optim.SGD(groups, momentum=0.9)
    groups = [
        {"params": params, "lr": config.lr * ratio} for params, ratio in model.param_groups(config.last_layer_lr_ratio)
    ]
    return torch.optim.Adam(groups)


def lr_factor(config: TrainConfig, samples_done: int, total_samples: int) -> float:
    """Multiplier on each group's base rate: constant for the paper, warm-up + cosine for fast."""
    if config.recipe == "paper":
        return 1.0
    if samples_done < config.warmup_samples:
        return (samples_done + config.batch) / config.warmup_samples
    span = max(1, total_samples - config.warmup_samples)
    progress = min(1.0, (samples_done - config.warmup_samples) / span)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def loss_fn(config: TrainConfig, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if config.recipe == "paper":
        # Caffe's EuclideanLoss, which the paper's learning rates were tuned for:
        # sum of squared errors / (2 * batch). A per-pixel mean would shrink the gradient ~150x.
        return ((output - target) ** 2).sum() / (2 * output.shape[0])
    return F.mse_loss(output, target)


def batch_indices(seed: int, step: int, batch: int, count: int, cache: dict) -> np.ndarray:
    """Indices of the sub-images of ``step``: epoch-wise permutations derived from the seed."""
    flat = np.arange(step * batch, (step + 1) * batch)
    epochs, positions = flat // count, flat % count
    picked = np.empty(batch, dtype=np.int64)
    for epoch in np.unique(epochs):
        if epoch not in cache:
            cache.clear()  # keep one or two epochs, not all of them
            cache[epoch] = np.random.default_rng([seed, int(epoch)]).permutation(count)
        mask = epochs == epoch
        picked[mask] = cache[epoch][positions[mask]]
    return picked


def augment(seed: int, step: int, inputs: torch.Tensor, targets: torch.Tensor):
    """One of the 8 flips/rotations for the whole batch, chosen from (seed, step)."""
    choice = int(np.random.default_rng([seed, step, 7]).integers(8))
    if choice & 4:
        inputs, targets = inputs.flip(-1), targets.flip(-1)
    rotations = choice & 3
    if rotations:
        inputs = torch.rot90(inputs, rotations, (-2, -1))
        targets = torch.rot90(targets, rotations, (-2, -1))
    return inputs.contiguous(), targets.contiguous()


def validation_pairs(config: TrainConfig):
    if not config.val_dir or not Path(config.val_dir).is_dir():  # train() says why it is missing
        return []
    folder = Path(config.val_dir)
    files, _ = list_images(folder)
    return [model_pair(p.stem, load_uint8(p), config.scale, config.channels) for p in files]


@torch.no_grad()
def validate(model: Network, pairs, scale: int, channels: int) -> float | None:
    """Mean PSNR with the eval protocol (replicate padding, uint8 rounding, shave, ``score``)."""
    if not pairs:
        return None
    model.eval()
    device = next(model.parameters()).device
    scores = []
    for pair in pairs:
        plane = pair.low if getattr(model, "contract", "bicubic") == "lowres" else pair.bicubic
        if channels == 1:
            tensor = torch.from_numpy(plane[None, None].astype(np.float32))
        else:
            tensor = torch.from_numpy(plane.transpose(2, 0, 1)[None].astype(np.float32).copy())
        out = model(tensor.to(device), padded=True)[0].cpu().numpy()
        out = out[0] if channels == 1 else out.transpose(1, 2, 0)
        scores.append(score(pair.ground_truth, out, scale, with_ssim=False).psnr)
    model.train()
    return float(np.mean(scores))


def reference_levels(config: TrainConfig, pairs) -> tuple[float | None, float | None]:
    """(bicubic, paper) PSNR on the validation set, for the convergence plot."""
    from ..paper import FILTER_SIZES_SET5_X3, paper_psnr

    if not pairs or not config.val_dir:
        return None, None
    bicubic = float(np.mean([score(p.ground_truth, p.bicubic, config.scale, False).psnr for p in pairs]))
    paper = None
    if Path(config.val_dir).name == "Set5" and (config.n1, config.n2) == (64, 32):
        if config.channels == 3:
            paper = paper_psnr("Set5", config.scale, 3)[1] if config.arch == "9-1-5" else None
        elif config.fsrcnn:
            paper = paper_psnr("Set5", config.scale, 1, canonical_arch(config.arch))[1]
        elif config.arch == "9-5-5":
            paper = paper_psnr("Set5", config.scale)[1]
        elif config.scale == 3:
            paper = FILTER_SIZES_SET5_X3.get(config.arch)
    return bicubic, paper


def plot_run(run_dir: Path, log_rows: list[dict], config: TrainConfig, pairs=None):
    """``convergence.png`` in the run folder; without matplotlib, a warning and no plot."""
    try:
        from ..charts import _pyplot, convergence_plot

        _pyplot()
    except SrcnnError as exc:
        warnings.warn(f"no convergence.png: {exc}", stacklevel=2)
        return None
    pairs = validation_pairs(config) if pairs is None else pairs
    bicubic, paper = reference_levels(config, pairs)
    return convergence_plot(run_dir, log_rows, config, bicubic, paper)


def save_checkpoint(path: Path, state: dict) -> None:
    """The checkpoint (for --resume; never committed), and beside it ``config.json``: the small
    record of the run (settings, samples, time, machine) that is kept with its log and plot."""
    with atomic_output(path) as handle:  # never leave a half-written checkpoint behind
        torch.save(state, handle)
    write_atomic(path.parent / RECORD, (json.dumps(run_record(state), indent=2) + "\n").encode())


def run_record(state: dict) -> dict:
    return {
        "config": state["config"],
        "samples": state["samples"],
        "total_samples": state["total_samples"],
        "steps": state["step"],
        "wall_minutes": round(state["wall_s"] / 60, 1),
        "data_fingerprint": state["data_fingerprint"],
        "cpu": state.get("cpu"),
        "torch": state.get("torch"),
    }


def load_checkpoint(path: Path, missing: str = "no checkpoint at") -> dict:
    """The checkpoint at ``path``; ``missing`` starts the error when there is none (the caller's words)."""
    if not path.is_file():
        raise TrainingError(f"{missing} {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # torch raises pickle, zip and runtime errors alike for a foreign file
        raise TrainingError(f"{path} is not a srcnn-cli checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != "srcnn-cli checkpoint 1":
        raise TrainingError(f"{path} is not a srcnn-cli checkpoint")
    return state


@contextmanager
def sigterm_interrupts():
    """SIGTERM (a batch scheduler, ``kill``) stops training the way Ctrl-C does.

    Python turns SIGINT into KeyboardInterrupt already, except in jobs started in the background
    by a script, which by convention ignore it (so that Ctrl-C in the script spares them); that
    convention is kept. SIGTERM would end the process without a word; here it saves the
    checkpoint, and ``--resume`` continues.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- the run, step by step ----------------------------------------------------------------------
def settle_config(config: TrainConfig, resume: bool, where: dict | None) -> tuple[TrainConfig, dict | None]:
    """On --resume the run's own settings win over new flags, except where it runs (``where``)."""
    if config.recipe not in RECIPES:
        raise TrainingError(f"unknown recipe {config.recipe!r}; choose from {', '.join(RECIPES)}")
    run_dir = Path(config.out)
    checkpoint_path = run_dir / CHECKPOINT
    state = load_checkpoint(checkpoint_path, missing="no checkpoint to resume at") if resume else None
    if state is None:
        if checkpoint_path.exists():
            raise TrainingError(f"{run_dir} already holds a run; pass --resume or choose another --out")
        return config, None
    config = TrainConfig(**state["config"])
    config.out = str(run_dir)  # a run folder can be moved
    for name, value in (where or {}).items():
        if name not in WHERE_FIELDS:
            raise TrainingError(f"{name} cannot change when resuming a run")
        setattr(config, name, value)
    return config, state


def check_settings(config: TrainConfig, resumed: bool) -> None:
    """Settings that cannot train fail here, before any data is read."""
    if not config.train_dirs:
        raise TrainingError("give at least one --train-dir")
    if config.identity_init and config.fsrcnn:
        raise TrainingError("--identity-init starts an SRCNN as the bicubic; an FSRCNN has no such start")
    if config.samples <= 0 and config.minutes <= 0:
        raise TrainingError("give a budget: --samples N or --minutes M")
    least = 2 * config.loss_crop + (config.scale if config.fsrcnn else 1)
    if config.patch < least:  # the loss must see at least one pixel (FSRCNN: one input pixel's worth)
        raise TrainingError(f"--patch {config.patch} leaves no output for {config.arch}: it needs at least {least}")
    if config.val_dir and not Path(config.val_dir).is_dir():
        if not resumed:
            raise TrainingError(f"validation folder not found: {config.val_dir}")
        # A resumed run may have moved away from its data: validation only watches, so go on.
        warnings.warn(f"validation folder not found: {config.val_dir}; continuing without validation", stacklevel=2)


def prepare_device(config: TrainConfig) -> torch.device:
    if config.threads:
        torch.set_num_threads(config.threads)
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for but PyTorch sees no CUDA GPU")
    return device


@dataclass
class TrainingData:
    """The cached sub-image pairs, and how a batch of them reaches the device."""

    inputs: np.ndarray
    targets: np.ndarray
    key: str  # the fingerprint that ties checkpoints to their data
    on_card: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def count(self) -> int:
        return len(self.inputs)

    def gather(self, picked: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if self.on_card is None:
            return torch.from_numpy(self.inputs[picked]), torch.from_numpy(self.targets[picked])
        index = torch.from_numpy(picked).to(device)
        return self.on_card[0][index], self.on_card[1][index]


def load_data(config: TrainConfig, device: torch.device, state: dict | None) -> TrainingData:
    spec = PairSpec(
        config.scale, config.channels, config.patch, config.stride, config.contract, config.downscale_augment
    )
    inputs, targets, key = load_subimages(config.train_dirs, spec)
    if state is not None and state["data_fingerprint"] != key:
        raise TrainingError("the training data changed since this run started; cannot resume")
    data = TrainingData(np.ascontiguousarray(inputs), np.ascontiguousarray(targets), key)
    if device.type == "cuda":
        # On a GPU the whole set (~1.4 GB at x3) lives on the card: a host gather and copy per
        # step would cost more than the step itself. The batches are the same either way.
        data.on_card = (
            torch.from_numpy(np.array(data.inputs)).to(device),
            torch.from_numpy(np.array(data.targets)).to(device),
        )
    return data


# channels-last runs the convolutions ~15% (9-5-5) to ~35% (9-1-5) faster on a CPU; it is only a
# memory layout, so checkpoints and results are unchanged
LAYOUT = torch.channels_last


def initial_model(config: TrainConfig, device: torch.device, init_state: dict | None, inputs: np.ndarray) -> Network:
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    model = build_model(config)
    if config.recipe == "paper":
        model.paper_init()
    if config.identity_init and isinstance(model, SRCNN):
        model.identity_init()
    if init_state is not None:
        start_from(model, config, init_state, inputs)
    return model.to(device, memory_format=LAYOUT)


@dataclass
class Progress:
    """Where a run stands: what a checkpoint saves and --resume restores."""

    step: int = 0
    samples: int = 0
    wall_s: float = 0.0
    total_samples: int = 0  # 0 until a --minutes budget has been measured
    log: list = field(default_factory=list)

    @classmethod
    def restore(cls, state: dict, model: Network, optimizer: torch.optim.Optimizer) -> Progress:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])
        return cls(state["step"], state["samples"], state["wall_s"], state["total_samples"], state["log"])


def snapshot(
    config: TrainConfig, model: Network, optimizer, progress: Progress, data: TrainingData, device: torch.device
) -> dict:
    return {
        "format": "srcnn-cli checkpoint 1",
        "config": config.to_dict(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": progress.step,
        "samples": progress.samples,
        "total_samples": progress.total_samples,
        "wall_s": progress.wall_s,
        "log": progress.log,
        "torch_rng": torch.get_rng_state(),
        "python_rng": random.getstate(),
        "data_fingerprint": data.key,
        "data": {"dirs": config.train_dirs, "subimages": data.count},
        "cpu": cpu_name(),
        "accelerator": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
    }


def train_step(
    config: TrainConfig,
    model: Network,
    optimizer,
    base_lrs: list[float],
    data: TrainingData,
    progress: Progress,
    device: torch.device,
    perm_cache: dict,
) -> tuple[float, float]:
    """One batch: gather, augment, crop the target to the valid centre, forward, backward, step.
    Returns (loss, learning-rate factor)."""
    picked = batch_indices(config.seed, progress.step, config.batch, data.count, perm_cache)
    picked.sort()  # sorted gathers are faster and the batch order does not matter
    x, y = data.gather(picked, device)
    if config.augmenting:
        x, y = augment(config.seed, progress.step, x, y)
    crop = config.loss_crop  # the loss sees the centre only
    y = y[:, :, crop : y.shape[2] - crop, crop : y.shape[3] - crop]
    x, y = x.to(device, memory_format=LAYOUT), y.to(device)
    factor = lr_factor(config, progress.samples, progress.total_samples or 10**12)
    for group, base in zip(optimizer.param_groups, base_lrs):
        group["lr"] = base * factor
    output = model(x)
    if output.shape[-1] != y.shape[-1]:  # a padded network's output is as large as its target
        output = output[:, :, crop : output.shape[2] - crop, crop : output.shape[3] - crop]
    loss = loss_fn(config, output, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    progress.step += 1
    progress.samples += config.batch
    return float(loss.detach()), factor


class MinutesBudget:
    """--minutes: after a short probe, the time left becomes a sample budget (so the schedule has
    an end), re-estimated from the recent rate every little while, because a shared machine's
    speed changes (a fixed estimate once ran 2.3 of 10 minutes)."""

    def __init__(self, config: TrainConfig):
        self.active = config.samples <= 0
        self.minutes = config.minutes
        self.mark: tuple[float, int] | None = None  # (time, samples) the speed is measured from
        self.probe_s = min(20.0, max(0.5, config.minutes * 6.0))  # at most a tenth of the budget
        self.reestimate_s = max(self.probe_s, min(60.0, config.minutes * 6.0))

    def update(self, progress: Progress, now: float, batch: int) -> bool:
        """Re-estimate ``progress.total_samples`` when due; True when it changed."""
        if not self.active:
            return False
        if self.mark is None:
            if progress.step >= 5:
                self.mark = (now, progress.samples)
            return False
        if now - self.mark[0] < (self.probe_s if progress.total_samples <= 0 else self.reestimate_s):
            return False
        rate = (progress.samples - self.mark[1]) / (now - self.mark[0])
        steps_left = max(1, int(rate * (self.minutes * 60 - progress.wall_s)) // batch)
        progress.total_samples = progress.samples + steps_left * batch
        self.mark = (now, progress.samples)
        return True


def log_row(progress: Progress, losses: list[float], lr: float, val: float | None) -> dict:
    return {
        "step": progress.step,
        "samples": progress.samples,
        "wall_s": round(progress.wall_s, 1),
        "loss": float(np.mean(losses)),
        "lr": lr,
        "val_psnr": val,
    }


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    max_steps: int | None = None,
    progress: bool = True,
    where: dict | None = None,
    on_log: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Run (or resume) training until the sample budget is spent, or ``max_steps`` this call.

    ``progress`` draws a bar (for a terminal); ``on_log`` gets each row of the run's log as it
    is written (samples, wall_s, loss, lr, val_psnr), for a plain record where no bar is drawn.

    On --resume the run's saved settings win over ``config``, except ``where`` it runs: any of
    WHERE_FIELDS given in ``where`` (say, a CPU run moved to a GPU, or given more threads).
    """
    # --- settings, machine and starting point: everything that can fail, before the data ---
    config, state = settle_config(config, resume, where)
    check_settings(config, resumed=state is not None)
    run_dir = Path(config.out)
    checkpoint_path = run_dir / CHECKPOINT
    run_dir.mkdir(parents=True, exist_ok=True)
    device = prepare_device(config)
    init_state = load_init(config.init, config.scale, config.channels) if state is None and config.init else None
    if init_state is not None:
        check_init(config, init_state)

    # --- data, model, optimiser ---
    data = load_data(config, device, state)
    model = initial_model(config, device, init_state, data.inputs)
    optimizer = build_optimizer(config, model)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    done = Progress(total_samples=config.samples) if state is None else Progress.restore(state, model, optimizer)
    pairs = validation_pairs(config)

    # --- the loop: steps, the budget, the log and validation, checkpoints ---
    budget = MinutesBudget(config)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=done.total_samples or None, initial=done.samples, unit="img", smoothing=0.05)
    started = time.monotonic() - done.wall_s
    last_eval = last_save = time.monotonic()
    perm_cache: dict = {}
    steps_this_call = 0
    running_loss = None  # smoothed, for the progress bar
    interval_losses: list[float] = []  # since the last log row, whose mean is logged
    interrupted = False
    try:
        with sigterm_interrupts():
            while done.total_samples <= 0 or done.samples < done.total_samples:
                if max_steps is not None and steps_this_call >= max_steps:
                    interrupted = True
                    break
                value, factor = train_step(config, model, optimizer, base_lrs, data, done, device, perm_cache)
                steps_this_call += 1
                running_loss = value if running_loss is None else 0.98 * running_loss + 0.02 * value
                interval_losses.append(value)
                now = time.monotonic()
                done.wall_s = now - started
                if budget.update(done, now, config.batch) and bar is not None:
                    bar.total = done.total_samples
                if bar is not None:
                    bar.update(config.batch)
                    bar.set_postfix(loss=f"{running_loss:.3g}")

                due_eval = now - last_eval >= config.eval_every_s
                finishing = done.total_samples > 0 and done.samples >= done.total_samples
                if due_eval or finishing or done.step == 1:
                    val = validate(model, pairs, config.scale, config.channels) if (due_eval or finishing) else None
                    done.log.append(log_row(done, interval_losses, base_lrs[0] * factor, val))
                    interval_losses = []
                    write_log(run_dir, done.log)
                    if on_log is not None:
                        on_log(dict(done.log[-1], total_samples=done.total_samples))
                    last_eval = now if due_eval else last_eval
                    if bar is not None and val is not None:
                        bar.set_postfix(loss=f"{running_loss:.3g}", val_psnr=f"{val:.2f}")
                if now - last_save >= config.checkpoint_every_s:
                    save_checkpoint(checkpoint_path, snapshot(config, model, optimizer, done, data, device))
                    last_save = now
    except KeyboardInterrupt:
        interrupted = True  # Ctrl-C: save what we have; --resume continues from here
    finally:
        if bar is not None:
            bar.close()
        save_checkpoint(checkpoint_path, snapshot(config, model, optimizer, done, data, device))

    # --- the end: the plot, the result ---
    val = next((r["val_psnr"] for r in reversed(done.log) if r["val_psnr"] is not None), None)
    if not interrupted:
        plot_run(run_dir, done.log, config, pairs)
    return TrainResult(run_dir, done.step, done.samples, done.wall_s, val, finished=not interrupted)


def write_log(run_dir: Path, rows: list[dict]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=LOG_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(run_dir / LOG, text.getvalue().encode())
