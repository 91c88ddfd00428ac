"""Models as data: the manifests of bundled and user ONNX files, model lookup, and .mat import.

Two folders hold models, each with a ``manifest.json``: the bundled weights inside the installed
package (changed only by a commit that updates ``weights/``), and the user's model folder
(``$SRCNN_MODELS``, default ``~/.local/share/srcnn-cli/models``), where ``srcnn export`` puts
what ``srcnn train`` made. Defaults come from the bundled weights only.

A model spec given by a user is one of:

* a bundled model's arch name (``9-5-5``) or full name (``9-5-5_x3``, ``9-1-5_x3_rgb``), chosen
  together with the scale and channels, or nothing at all (the default model for the scale);
* a path to an ``.onnx`` file that follows the model contract (see ``onnxmodel``);
* a path to one of the authors' MATLAB ``.mat`` weight files, converted in memory.

Bundled files are found with ``importlib.resources`` and their sha256 is checked on load.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ModelError, UnknownModel
from .matfile import MatFileError, load_mat
from .onnxmodel import Layer, srcnn_onnx_bytes

MANIFEST = "manifest.json"
CHANNEL_NAMES = {"y": 1, "rgb": 3}
# 2: the PSNR measure and skipped sets left the psnr dict for their own fields; 3: each entry names its
# model contract (``contract``: bicubic or lowres); entries of formats 1 and 2 are bicubic
MANIFEST_FORMAT = 3
PSNR_OVER_Y = "paper luma: rgb2ycbcr Y (BSD200: rgb2gray, as Table 4)"
PSNR_OVER_YCBCR = "Table 5: PSNR over uint8 Y, Cb, Cr"


@dataclass(frozen=True)
class ModelInfo:
    """One bundled model, as its manifest entry describes it."""

    name: str
    arch: str
    n1: int
    n2: int
    scale: int
    channels: int
    file: str
    sha256: str
    default: bool = False
    recipe: dict = field(default_factory=dict)
    psnr: dict = field(default_factory=dict)  # test set -> dB, numbers only
    psnr_measure: str = PSNR_OVER_Y  # what ``psnr`` was measured over
    psnr_skipped: list = field(default_factory=list)  # "set: reason" for sets export could not score
    # what the network sees: "bicubic" (the bicubic-upscaled plane, SRCNN) or "lowres" (the
    # low-resolution plane, giving one ``scale`` times larger: FSRCNN)
    contract: str = "bicubic"
    folder: str = field(default="", compare=False)  # where it was found (not stored in the manifest)
    origin: str = field(default="bundled", compare=False)  # "bundled" or "user"

    @property
    def path(self) -> Path:
        return (Path(self.folder) if self.folder else weights_dir()) / self.file

    def manifest_entry(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("folder", "origin")}

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "origin": self.origin,
            "arch": self.arch,
            "n1": self.n1,
            "n2": self.n2,
            "scale": self.scale,
            "channels": self.channels,
            "contract": self.contract,
            "path": str(self.path.resolve()),
            "sha256": self.sha256,
            "default": self.default,
            "psnr": self.psnr,
            "psnr_measure": self.psnr_measure,
            "psnr_skipped": self.psnr_skipped,
            "recipe": self.recipe,
        }


@dataclass(frozen=True)
class LoadedModel:
    """Model bytes ready for onnxruntime, with what we know about them."""

    source: str  # what the user asked for, for messages
    data: bytes
    info: ModelInfo | None = None  # set for bundled models


def weights_dir() -> Path:
    """The folder of bundled weights: $SRCNN_WEIGHTS_DIR, the installed package, or the source tree."""
    override = os.environ.get("SRCNN_WEIGHTS_DIR")
    if override:
        return Path(override).expanduser()
    try:
        return Path(str(resources.files("srcnn_cli.weights")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "weights"


def user_models_dir() -> Path:
    """Where ``srcnn export`` puts the user's models: $SRCNN_MODELS, else the user's data folder."""
    override = os.environ.get("SRCNN_MODELS")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "srcnn-cli" / "models"


def all_models() -> list[ModelInfo]:
    """The bundled models, then the user's (whose names never shadow a bundled one)."""
    bundled = load_manifest()
    taken = {m.name for m in bundled}
    user = [m for m in load_manifest(user_models_dir(), origin="user") if m.name not in taken]
    return bundled + user


def model_name(arch: str, scale: int, channels: int) -> str:
    return f"{arch}_x{scale}" + ("_rgb" if channels == 3 else "")


def load_manifest(folder: Path | None = None, origin: str = "bundled") -> list[ModelInfo]:
    folder = Path(folder) if folder is not None else weights_dir()
    path = folder / MANIFEST
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text())["models"]
        known = set(ModelInfo.__dataclass_fields__) - {"folder", "origin"}
        return [
            ModelInfo(
                **{k: v for k, v in _upgrade_entry(entry).items() if k in known}, folder=str(folder), origin=origin
            )
            for entry in entries
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the weights manifest {path} is unreadable: {exc}") from None


def _upgrade_entry(entry: dict) -> dict:
    """A format-1 entry kept its measure and skipped sets inside ``psnr``: move them out."""
    psnr = dict(entry.get("psnr") or {})
    moved = {"psnr_measure": psnr.pop("measure", None), "psnr_skipped": psnr.pop("skipped", None)}
    return {**entry, "psnr": psnr, **{k: v for k, v in moved.items() if v is not None}}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def find_bundled(name: str | None, scale: int, channels: int, models: list[ModelInfo]) -> ModelInfo:
    """The bundled model for (name or default, scale, channels), or a ModelError listing choices."""
    candidates = [m for m in models if m.scale == scale and m.channels == channels]
    if name is None:
        bundled = [m for m in candidates if m.origin == "bundled"]
        chosen = [m for m in bundled if m.default] or bundled
    else:
        chosen = [m for m in candidates if name in (m.arch, m.name)]
        if not chosen:
            chosen = [m for m in models if m.name == name]  # a full name fixes scale/channels
    if not chosen:
        kind = "rgb" if channels == 3 else "y"
        wanted = f"model {name} at x{scale} ({kind})" if name else f"{kind} model at x{scale}"
        available = ", ".join(m.name for m in models) or "none (no weights are bundled)"
        raise UnknownModel(f"no bundled {wanted}; available: {available}")
    return chosen[0]


def output_tag(info: ModelInfo | None, source: str, channels: int) -> str:
    """What a default output name adds for the model that made it (``photo_x3_9-1-5.png``,
    ``photo_x3_rgb.png``): nothing for the scale's default model, so that outputs of different
    named models never take each other's names. A bundled model by its arch, a user's by its
    name; ``rgb`` for a colour model. A model file adds nothing (its stem is often no name at
    all, like the authors' ``x3.mat``): ``--suffix`` names its outputs."""
    if info is None:
        parts = []
    elif info.origin == "bundled":
        colour_default = channels == 3 and info.arch == next(
            (m.arch for m in load_manifest() if m.channels == 3 and m.scale == info.scale), None
        )
        parts = [] if info.default or colour_default else [info.arch]
    else:
        parts = [info.name]
    return "_".join(parts + (["rgb"] if channels == 3 else []))


def known_output_tags() -> list[str]:
    """Every tag ``output_tag`` gives a bundled or user model: how earlier runs' outputs are told
    from inputs, whichever model made them."""
    tags = []
    for info in all_models():
        tags.append(output_tag(info, info.file, info.channels))
        if info.channels == 3:
            tags.append(f"{info.arch}_rgb")
    return [tag for tag in dict.fromkeys(tags) if tag]


FULL_NAME_SCALE = re.compile(r"_x(\d+)(?:_rgb)?$")  # a bundled model's full name: 9-5-5_x4, 9-1-5_x2_rgb
_SCALE_IN_NAME = re.compile(r"(?:^|[^0-9a-z])x([2-9])$", re.IGNORECASE)  # the authors' x2.mat .. x4.mat


def scale_from_file_name(path: str | Path) -> int | None:
    """The scale a weights file's name gives it, as the SRCNN authors named theirs (``x3.mat``),
    or None."""
    match = _SCALE_IN_NAME.search(Path(path).stem)
    return int(match.group(1)) if match else None


def own_scale(metadata: dict[str, str], contract_scale: int = 1) -> int | None:
    """The scale a loaded model was trained for: its contract's (a low-resolution model
    enlarges by its own factor), else the ``srcnn.scale`` it records; None where unknown."""
    if contract_scale > 1:
        return contract_scale
    recorded = metadata.get("srcnn.scale", "")
    return int(recorded) if recorded.isdigit() and int(recorded) > 1 else None


def named_scale(spec: str | None) -> int | None:
    """The scale a model name fixes by itself: a full name's ``_xS`` (``9-5-5_x4``), a user
    model's own (from its manifest), the authors' ``x3.mat``; None for an arch or the default."""
    if spec is None or not spec.strip():
        return None
    if looks_like_path(spec):
        return scale_from_file_name(spec) if spec.lower().endswith(".mat") else None
    match = FULL_NAME_SCALE.search(spec)
    if match:
        return int(match.group(1))
    user = [m.scale for m in all_models() if m.name == spec and m.origin == "user"]
    return user[0] if user else None


# ``--arch`` names of FSRCNN(d, s, m): the paper's FSRCNN and FSRCNN-s, or fsrcnn-D-S-M for any other
FSRCNN_NAMED = {"fsrcnn": (56, 12, 4), "fsrcnn-s": (32, 5, 1)}


def fsrcnn_dims(arch: str) -> tuple[int, int, int] | None:
    """(d, s, m) of an FSRCNN arch name, None for any other name; ValueError when malformed."""
    name = arch.lower()
    if name in FSRCNN_NAMED:
        return FSRCNN_NAMED[name]
    if not name.startswith("fsrcnn-"):
        return None
    parts = name.split("-")[1:]
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or int(parts[0]) < 1 or int(parts[1]) < 1:
        raise ValueError(f"an FSRCNN arch is fsrcnn, fsrcnn-s or fsrcnn-D-S-M like fsrcnn-56-12-4, got {arch!r}")
    d, s, m = (int(p) for p in parts)
    return d, s, m


def canonical_arch(arch: str) -> str:
    """The name an arch is recorded under: the paper's FSRCNNs by their names."""
    dims = fsrcnn_dims(arch)
    if dims is None:
        return arch
    named = {v: k for k, v in FSRCNN_NAMED.items()}
    return named.get(dims, "fsrcnn-{}-{}-{}".format(*dims))


def looks_like_path(spec: str) -> bool:
    return spec.lower().endswith((".onnx", ".mat")) or "/" in spec or "\\" in spec


def resolve_model(spec: str | None, scale: int, channels: int = 1) -> LoadedModel:
    """Turn a user's ``-m`` value into model bytes (checked against the manifest if bundled)."""
    if spec is not None and not spec.strip():
        raise UnknownModel("an empty model name ('') names no model: leave -m out for the default")
    if spec is not None and looks_like_path(spec):
        path = Path(spec).expanduser()
        if path.exists() and not path.is_file():
            raise ModelError(f"{spec} is not a model file (a folder, a device or a pipe)")
        if not path.is_file():
            raise ModelError(f"model file not found: {spec}")
        if path.suffix.lower() == ".mat":  # its scale is what its name says (x3.mat), not what is asked
            return LoadedModel(spec, mat_to_onnx_bytes(path, scale_from_file_name(path)))
        return LoadedModel(spec, path.read_bytes())
    info = find_bundled(spec, scale, channels, all_models())
    if not info.path.is_file():
        raise ModelError(f"{info.origin} model {info.name} is missing its file {info.path}")
    data = info.path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != info.sha256:
        remedy = "reinstall srcnn-cli" if info.origin == "bundled" else "export it again"
        raise ModelError(
            f"{info.origin} model {info.name} is corrupt: sha256 {digest[:12]}... does not match the "
            f"manifest's {info.sha256[:12]}...; {remedy}"
        )
    return LoadedModel(info.name, data, info)


def mat_layers(variables: dict[str, np.ndarray]) -> list[Layer]:
    """The authors' column-major MATLAB layout to OIHW correlation kernels."""
    try:
        w1, b1 = variables["weights_conv1"], variables["biases_conv1"]
        w2, b2 = variables["weights_conv2"], variables["biases_conv2"]
        w3, b3 = variables["weights_conv3"], variables["biases_conv3"]
    except KeyError as exc:
        raise ModelError(f"not an SRCNN weight file: variable {exc.args[0]} is missing") from None
    if w2.ndim == 2:  # MATLAB drops a trailing singleton; 9-1-5 arrives as 64 x 1 x 32 or 64 x 32
        w2 = w2[:, None, :]
    if w1.ndim != 2 or w2.ndim != 3 or w3.ndim != 2:
        raise ModelError(
            "not an SRCNN weight file: conv1 and conv3 weights must be matrices and conv2 "
            f"weights a 3-D array (got {w1.ndim}, {w2.ndim} and {w3.ndim} dimensions)"
        )
    n1, n2 = w1.shape[1], w2.shape[2]
    f1, f2, f3 = (math.isqrt(side) for side in (w1.shape[0], w2.shape[1], w3.shape[1]))
    if f1 * f1 != w1.shape[0] or f2 * f2 != w2.shape[1] or f3 * f3 != w3.shape[1] or 0 in (f1, f2, f3, n1, n2):
        raise ModelError("SRCNN weight file has non-square filters")
    expected = {
        "weights_conv2": ((n1, f2 * f2, n2), w2.shape),
        "weights_conv3": ((n2, f3 * f3), w3.shape),
        "biases_conv1": (n1, b1.size),
        "biases_conv2": (n2, b2.size),
        "biases_conv3": (1, b3.size),
    }
    for name, (want, got) in expected.items():
        if want != got:
            raise ModelError(f"not an SRCNN weight file: {name} has shape {got}, the other layers need {want}")
    conv1 = np.stack([w1[:, i].reshape(f1, f1, order="F") for i in range(n1)])[:, None]
    conv2 = np.stack([np.stack([w2[j, :, i].reshape(f2, f2, order="F") for j in range(n1)]) for i in range(n2)])
    conv3 = np.stack([w3[i, :].reshape(f3, f3, order="F") for i in range(n2)])[None]
    return [
        Layer(conv1.astype(np.float32), b1.reshape(-1).astype(np.float32)),
        Layer(conv2.astype(np.float32), b2.reshape(-1).astype(np.float32)),
        Layer(conv3.astype(np.float32), b3.reshape(-1).astype(np.float32)),
    ]


def mat_to_onnx_bytes(path: Path, scale: int | None = None) -> bytes:
    try:
        layers = mat_layers(load_mat(path))
    except MatFileError as exc:
        raise ModelError(f"{path}: {exc}") from None
    arch = "-".join(str(layer.weight.shape[-1]) for layer in layers)
    metadata = {
        "srcnn.arch": arch,
        "srcnn.n1": str(layers[0].weight.shape[0]),
        "srcnn.n2": str(layers[1].weight.shape[0]),
        "srcnn.source": Path(path).name,
    }
    if scale is not None:
        metadata["srcnn.scale"] = str(scale)
    return srcnn_onnx_bytes(layers, metadata)
