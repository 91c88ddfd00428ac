"""The command line's shared options, defined once: the same flag means the same thing, with the
same parsing, default and help, in every subcommand. Importing this loads only Click (so that
``srcnn --help`` starts fast); the library is imported inside the commands.

Aliases for those who come from realesrgan-ncnn-vulkan and Real-ESRGAN: ``-i/--input``,
``-t/--tile`` and ``-g/--gpu``.
"""

from __future__ import annotations

import click

from .formats import FORMATS
from .limits import DEFAULT_MAX_PIXELS, FITS, RUNTIMES, SCALES

__all__ = ["DEFAULT_MAX_PIXELS", "FORMAT_CHOICES"]
FORMAT_CHOICES = list(FORMATS)


def _scales(ctx, param, text: str) -> list[float]:
    """ "2,3,4" -> [2, 3, 4], each once, in the order given; "2.5" -> [2.5] (whole numbers as int)."""
    try:
        values = [float(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a scale or a comma-separated list of scales") from None
    if not values or any(not (v > 1 and v < 1e4) for v in values):
        raise click.BadParameter("a scale is a factor above 1, like 2, 3, 4 or 2.5")
    return list(dict.fromkeys(int(v) if v.is_integer() else v for v in values))


def scale_option(many: bool = False, any_factor: bool = False):
    """``-s/--scale``: one factor, or with ``many`` a comma-separated list; 3 by default. Commands
    that run one network as trained take 2, 3 or 4; ``upscale`` takes any factor above 1."""
    kinds = "any factor above 1 (2.5, 6)" if any_factor else "2, 3 or 4"
    return click.option(
        "-s",
        "--scale",
        "scales",
        default="3",
        show_default=True,
        callback=_scales,
        help=f"Upscaling factor: {kinds}" + (", or a list like 2,3,4." if many else "."),
    )


def trained_scales(scales: list) -> list[int]:
    """Scales for a command that runs the networks as trained: 2, 3 or 4 only."""
    if any(s not in SCALES for s in scales):
        raise click.BadParameter(
            "scales must be among 2, 3, 4 (srcnn upscale takes any factor)", param_hint="'-s' / '--scale'"
        )
    return [int(s) for s in scales]


def one_scale(ctx: click.Context, scales: list, model: str | None, any_factor: bool = False):
    """The scale of a command that takes one, after ``-m NAME_xS`` had its say."""
    scales = implied_scales(ctx, scales, model)
    if len(scales) != 1:
        raise click.BadParameter("this command takes one scale", param_hint="-s/--scale")
    return scales[0] if any_factor else trained_scales(scales)[0]


def implied_scales(ctx: click.Context, scales: list[int], model: str | None) -> list[int]:
    """A model whose name fixes its scale (``-m 9-5-5_x4``, a user model trained at x2) sets the
    scale when -s was not given; a contradicting -s is a usage error for a full name, and runs
    the model at its own scale then the bicubic for the others (``pipeline.Upscaler``)."""
    from .models import FULL_NAME_SCALE, looks_like_path, named_scale

    named = named_scale(model)
    if named is None or model is None or looks_like_path(model):
        return scales
    given = ctx.get_parameter_source("scales") is click.core.ParameterSource.COMMANDLINE
    if given and list(scales) != [named] and FULL_NAME_SCALE.search(model):
        raise click.UsageError(
            f"-m {model} is an x{named} model, but -s asks for "
            f"x{','.join(map(str, scales))}: drop -s, or name the model without _x{named}"
        )
    return scales if given else [named]


def model_option(many: bool = False):
    help_text = "Bundled or user model (9-5-5, 9-1-5_x3, a name from `srcnn models`) or a .onnx/.mat file" + (
        "; several, comma-separated." if many else "; default: the scale's default model."
    )
    return click.option(
        "-m",
        "--model",
        "model",
        default="9-1-5,9-3-5,9-5-5,fsrcnn" if many else None,
        show_default=many,
        help=help_text,
    )


model_scale_option = click.option(
    "--model-scale",
    type=click.IntRange(min=2),
    help="The scale a model file was trained for, where the file does "
    "not say (a foreign ONNX file without srcnn.scale, a .mat not named like x3.mat).",
)


def device_options(command):
    """``--device auto|cpu|cuda|cuda:N`` (auto by default) and ``-g/--gpu N`` for ``cuda:N``."""
    command = click.option(
        "-g",
        "--gpu",
        "gpu",
        type=click.IntRange(min=0),
        default=None,
        help="Run on GPU number N (the same as --device cuda:N).",
    )(command)
    return click.option(
        "--device",
        default="auto",
        show_default=True,
        callback=_device_spelling,
        help="auto (CUDA when it works, else CPU), cpu, cuda or cuda:N.",
    )(command)


def _device_spelling(ctx, param, value: str) -> str:
    """A device name that is no device at all is a usage error (2), found before any work."""
    from .errors import DeviceError
    from .runtime import parse_device

    try:
        parse_device(value)
    except DeviceError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def resolve_device(device: str, gpu: int | None) -> str:
    """--device, with -g N standing for cuda:N (a different --device beside it is an error)."""
    if gpu is None:
        return device
    if device not in ("auto", f"cuda:{gpu}") and not (device == "cuda" and gpu == 0):
        raise click.UsageError(f"-g {gpu} and --device {device} contradict each other: give one")
    return f"cuda:{gpu}"


threads_option = click.option(
    "--threads",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="CPU threads for the network (0 = all cores).",
)
runtime_option = click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default="auto",
    show_default=True,
    help="Who runs the network: auto (OpenVINO on the CPU where installed, else onnxruntime), onnxruntime or openvino.",
)
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress or per-item lines; errors still show.")
ensemble_option = click.option(
    "--ensemble", is_flag=True, help="Average the network over 8 flips and rotations (8x slower)."
)
fit_option = click.option(
    "--fit",
    type=click.Choice(FITS),
    default=FITS[0],
    show_default=True,
    help="With --width and --height: fit inside, fill and crop, or stretch.",
)
tile_option = click.option(
    "-t",
    "--tile",
    type=click.IntRange(min=0),
    help="Tile side in output pixels; 0 = whole image; default from a memory budget.",
)


def examples(*lines: str) -> str:
    """A help epilog: each example on a line of its own, as Click prints them unwrapped."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
