"""``srcnn export``: a training run's checkpoint to an ONNX model and a weights-manifest entry.

The ONNX file follows the model contract (replicate padding inside, dynamic H and W, opset 17)
and is written by ``onnxmodel`` from the checkpoint's tensors. The manifest entry records how
the weights were made (recipe, data, samples, wall time, CPU) and what ``srcnn eval`` measured.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import SrcnnError, TrainingError
from ..files import write_atomic
from ..models import (
    MANIFEST,
    MANIFEST_FORMAT,
    PSNR_OVER_Y,
    PSNR_OVER_YCBCR,
    ModelInfo,
    canonical_arch,
    load_manifest,
    model_name,
    sha256_file,
    user_models_dir,
)
from ..onnxmodel import FsrcnnWeights, Layer, fsrcnn_onnx_bytes, read_layers, srcnn_onnx_bytes
from .config import TrainConfig
from .loop import CHECKPOINT, build_model, load_checkpoint, plot_run
from .model import FSRCNN


def checkpoint_onnx_bytes(checkpoint: dict) -> tuple[bytes, TrainConfig]:
    config = TrainConfig(**checkpoint["config"])
    model = build_model(config)
    model.load_state_dict(checkpoint["model"])
    metadata = {
        "srcnn.arch": canonical_arch(config.arch),
        "srcnn.scale": str(config.scale),
        "srcnn.recipe": config.recipe,
        "srcnn.samples": str(checkpoint["samples"]),
    }
    if isinstance(model, FSRCNN):
        return fsrcnn_onnx_bytes(FsrcnnWeights(**model.numpy_weights()), metadata), config
    layers = [Layer(w, b) for w, b in model.numpy_weights()]
    metadata.update({"srcnn.n1": str(config.n1), "srcnn.n2": str(config.n2)})
    return srcnn_onnx_bytes(layers, metadata), config


def reserialise(data: bytes) -> bytes:
    """An SRCNN ONNX model written again by this version's writer: the same weights and
    metadata, the current graph (how the bundled files moved to the blocked last layer)."""
    layers, metadata = read_layers(data)
    return srcnn_onnx_bytes(layers, metadata)


def _init_name(config: TrainConfig) -> str:
    """What a run started from, for the manifest: a run folder's name, a model's name, or how."""
    if not config.init:
        return "identity" if config.identity_init else "random"
    path = Path(config.init)
    return path.parent.name if path.suffix == ".pt" else path.stem if path.suffix == ".onnx" else config.init


def pick_defaults(models: list[ModelInfo]) -> list[ModelInfo]:
    """Mark, per scale, the SRCNN Y model with the best measured Set5 PSNR as the default (the
    default stays an SRCNN, the network the tool is named for, whatever else is bundled)."""
    best: dict[int, ModelInfo] = {}
    for info in models:
        if info.channels != 1 or info.contract != "bicubic":
            continue
        score = info.psnr.get("Set5", -1.0)
        if info.scale not in best or score > best[info.scale].psnr.get("Set5", -1.0):
            best[info.scale] = info
    chosen = {id(m) for m in best.values()}
    return [ModelInfo(**{**m.__dict__, "default": id(m) in chosen}) for m in models]


def write_manifest(folder: Path, models: list[ModelInfo]) -> None:
    entries = [info.manifest_entry() for info in sorted(models, key=lambda m: (m.scale, m.channels, m.name))]
    text = json.dumps({"format": MANIFEST_FORMAT, "models": entries}, indent=2) + "\n"
    write_atomic(folder / MANIFEST, text.encode())


def export_run(
    run_dir: str,
    *,
    weights_dir: str | None = None,
    eval_sets: tuple[str, ...] = ("Set5", "Set14"),
    data_dir: str | None = None,
    command: str | None = None,
    name: str | None = None,
) -> tuple[ModelInfo, Path]:
    """Export a run's checkpoint and record it in a manifest; (entry, ONNX path).

    By default into the user's model folder, named after the run (or ``name``), never as a
    default; with ``weights_dir`` (the maintainers' ``weights/``) under the model's standard
    name, the best Set5 model of each scale becoming that scale's default.
    """
    from ..evaluate import evaluate

    run = Path(run_dir)
    checkpoint = load_checkpoint(run / CHECKPOINT)
    data, config = checkpoint_onnx_bytes(checkpoint)
    if weights_dir:
        folder = Path(weights_dir)
        name = model_name(canonical_arch(config.arch), config.scale, config.channels)
        file_name = f"{name}.onnx" if config.fsrcnn else f"srcnn_{name}.onnx"
    else:
        folder = user_models_dir()
        name = name or run.resolve().name
        if not name or any(sep in name for sep in "/\\") or name.startswith("."):
            raise TrainingError(f"--name {name!r} cannot name a model: use letters, digits, - and _")
        if name in {m.name for m in load_manifest()}:
            raise TrainingError(f"{name} is the name of a bundled model: give the export another with --name")
        file_name = f"{name}.onnx"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / file_name, data)
        write_atomic(run / "model.onnx", data)
    except OSError as exc:
        raise TrainingError(f"cannot write the model to {folder}: {exc.strerror or exc}") from None
    if config.val_dir and Path(config.val_dir).is_dir():
        plot_run(run, checkpoint["log"], config)

    scores: dict[str, float] = {}
    skipped: list[str] = []
    for dataset in eval_sets:
        try:
            # onnxruntime, not OpenVINO: this runs beside PyTorch, and the two were seen to crash together
            result = evaluate(
                [dataset], [config.scale], model=str(folder / file_name), data_dir=data_dir, runtime="onnxruntime"
            )[0]
        except SrcnnError as exc:  # a missing test set must not block an export
            skipped.append(f"{dataset}: {exc}")
            continue
        scores[dataset] = round(result.psnr, 2)
    recipe = {
        "command": command,
        "recipe": config.recipe,
        "optimizer": "SGD momentum 0.9, lr 1e-4/1e-5"
        if config.recipe == "paper"
        else f"Adam lr {config.lr} warm-up {config.warmup_samples} samples + cosine",
        "batch": config.batch,
        "patch": config.patch,
        "stride": config.stride,
        "augment": config.augmenting,
        **({"downscale_augment": True} if config.downscale_augment else {}),
        **({"deconv_lr_ratio": config.last_layer_lr_ratio} if config.fsrcnn else {}),
        "init": _init_name(config),
        "data": [Path(d).name for d in config.train_dirs],
        "data_fingerprint": checkpoint["data_fingerprint"],
        "subimages": checkpoint["data"]["subimages"],
        "samples": checkpoint["samples"],
        "steps": checkpoint["step"],
        "wall_minutes": round(checkpoint["wall_s"] / 60.0, 1),
        "cpu": checkpoint.get("cpu"),
        "torch": checkpoint.get("torch"),
        "seed": config.seed,
        "device": checkpoint.get("accelerator") or "cpu",
    }
    info = ModelInfo(
        name=name,
        arch=canonical_arch(config.arch),
        n1=config.fsrcnn[0] if config.fsrcnn else config.n1,
        n2=config.fsrcnn[1] if config.fsrcnn else config.n2,
        scale=config.scale,
        channels=config.channels,
        file=file_name,
        sha256=sha256_file(folder / file_name),
        recipe=recipe,
        psnr=scores,
        psnr_measure=PSNR_OVER_YCBCR if config.channels == 3 else PSNR_OVER_Y,
        psnr_skipped=skipped,
        contract=config.contract,
    )
    models = [m for m in load_manifest(folder) if m.name != name] + [info]
    models = pick_defaults(models) if weights_dir else models
    write_manifest(folder, models)
    return next(m for m in models if m.name == name), folder / file_name
