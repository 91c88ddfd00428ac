"""The ``srcnn`` command: parse, call one library function, format, map errors to exit codes.

Exit codes: 0 success, 1 a failure the library reported (``Error: ...``, no traceback),
2 a usage error (Click's own, and impossible input/output combinations), 130 interrupted by
Ctrl-C (SIGINT), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import shlex
import signal
import sys
import threading
import warnings
from pathlib import Path

import click

from . import __version__
from .cli_options import (
    DEFAULT_MAX_PIXELS,
    FORMAT_CHOICES,
    device_options,
    ensemble_option,
    examples,
    fit_option,
    implied_scales,
    model_option,
    model_scale_option,
    one_scale,
    quiet_option,
    resolve_device,
    runtime_option,
    scale_option,
    threads_option,
    tile_option,
    trained_scales,
)
from .errors import SrcnnError, UnknownModel


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {message}", err=True)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


EXIT_INTERRUPTED = {KeyboardInterrupt: 130, Terminated: 143}


def _raise_terminated(signum, frame):
    raise Terminated


@contextlib.contextmanager
def _sigterm_raises():
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread (a test runner's worker, say)
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# The library's errors name its arguments as Python does (device='cuda:1'); here, the options.
_OPTIONS = {
    "device": "--device",
    "runtime": "--runtime",
    "channels": "--channels",
    "model_scale": "--model-scale",
    "scale": "-s",
}
_ARGUMENT = re.compile(r"\b(" + "|".join(_OPTIONS) + r")=(?:'([^']*)'|(\d+))?")


def in_option_terms(message: str) -> str:
    """``device='cuda:1'`` -> ``--device cuda:1``, ``model_scale=`` -> ``--model-scale``."""

    def option(match: re.Match) -> str:
        value = match.group(2) if match.group(2) is not None else match.group(3)
        return _OPTIONS[match.group(1)] + (f" {value}" if value is not None else "")

    return _ARGUMENT.sub(option, message)


def library_errors(command):
    """Turn the library's typed exceptions into ``Error: ...`` and exit code 1, and an
    interruption (Ctrl-C, SIGTERM) into one line and exit code 130 or 143."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        warnings.showwarning = _show_warning
        try:
            with _sigterm_raises():
                return command(*args, **kwargs)
        except UnknownModel as exc:  # a name that names nothing is a usage error
            raise click.UsageError(in_option_terms(str(exc))) from None
        except SrcnnError as exc:
            raise click.ClickException(in_option_terms(str(exc))) from None
        except (KeyboardInterrupt, Terminated) as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped by SIGTERM"
            _echo_err(f"{reason}{': ' + str(exc) if str(exc) else ''}")
            code = EXIT_INTERRUPTED[type(exc)]
        # raised outside the handler, so that the interruption's traceback, and the model
        # sessions its frames hold, are freed now: onnxruntime aborts when a session is left
        # for the interpreter's shutdown to destroy
        raise SystemExit(code)

    return wrapper


def _prepare_output(path: str | None, option: str) -> None:
    """Check an output file's place before the work that fills it, creating its folder.

    A report that can only fail to save after a long eval or bench wastes the run.
    """
    if not path or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise click.BadParameter(f"{path} is a folder", param_hint=option)
    existing = next(folder for folder in target.parents if folder.exists())
    if not existing.is_dir():
        raise click.ClickException(f"cannot write {path}: {existing} is a file, not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create the folder for {path}: {exc.strerror or exc}") from None
    if not os.access(target.parent, os.W_OK):
        raise click.ClickException(f"cannot write {path}: its folder is not writable")


@contextlib.contextmanager
def _writing(path):
    """Turn a failed write into ``Error: cannot write PATH: why`` (exit 1)."""
    try:
        yield
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_text(path: str, text: str) -> None:
    with _writing(path):
        Path(path).write_text(text, newline="")  # csv writes its own line ends


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="srcnn")
def cli():
    """SRCNN super-resolution: upscale images, evaluate and benchmark models, train weights.

    Each command's --help ends with examples. Shell completion: add
    eval "$(_SRCNN_COMPLETE=bash_source srcnn)" to ~/.bashrc (zsh: zsh_source, fish: fish_source).
    """


# --- upscale -----------------------------------------------------------------------------------
@cli.command(
    epilog=examples(
        "srcnn upscale photo.jpg                      # photo_x3.jpg beside it",
        "srcnn upscale a.png b.png -s 2 -o out/       # several files into a folder",
        "srcnn upscale shots/ -o big/ -r              # a folder tree, mirrored",
        "srcnn upscale 'scans/*.tif' -o big/ -f png   # a glob, written as PNG",
        "srcnn upscale -i in.png -o out.png -t 256 -g 0   # the ncnn / Real-ESRGAN spelling",
        "srcnn upscale photo.png -s 2.5               # any factor: x3 network, then bicubic",
        "srcnn upscale photo.png --width 1920         # a width; the height follows",
        "srcnn upscale photo.png --width 1920 --height 1080 --fit cover",
        "cat a.png | srcnn upscale - > a_x3.png       # standard input to standard output",
    )
)
@click.argument("inputs", nargs=-1)
@click.option("-i", "--input", "more_inputs", multiple=True, help="An input, like the arguments (repeatable).")
@click.option("-o", "--output", help="Output file (one input) or folder; - for standard output.")
@scale_option(any_factor=True)
@click.option("--width", type=click.IntRange(min=1), help="Output width in pixels (instead of -s).")
@click.option("--height", type=click.IntRange(min=1), help="Output height in pixels (instead of -s).")
@fit_option
@ensemble_option
@model_option()
@model_scale_option
@click.option(
    "--channels", type=click.Choice(["y", "rgb"]), help="y: network on luma (default); rgb: a 3-channel model."
)
@device_options
@runtime_option
@tile_option
@click.option("-r", "--recursive", is_flag=True, help="Walk folders recursively and mirror the tree.")
@click.option("--suffix", help="Appended to output names (default _xSCALE).")
@click.option(
    "-f", "--format", "fmt", type=click.Choice(FORMAT_CHOICES), help="Output format (default: from the name)."
)
@click.option("--quality", type=click.IntRange(1, 100), help="JPEG/WEBP quality (default 95).")
@click.option(
    "--png-level",
    type=click.IntRange(0, 9),
    default=1,
    show_default=True,
    help="PNG compression: 1 (ISA-L's deflate) keeps up with the network; 0 and 2 to 9 use zlib, slower.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (default: skip them).")
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse inputs with more pixels than this.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this machine; ray: a Ray cluster's workers (the [ray] extra).",
)
@click.option("--ray-address", help="The Ray cluster to join (default: $RAY_ADDRESS, else a local Ray for the run).")
@click.option("--workers", type=click.IntRange(min=1), help="Ray workers (default: as many as the CPUs allow).")
@threads_option
@quiet_option
@library_errors
def upscale(
    inputs,
    more_inputs,
    output,
    scales,
    width,
    height,
    fit,
    ensemble,
    model,
    model_scale,
    channels,
    device,
    gpu,
    runtime,
    tile,
    recursive,
    suffix,
    fmt,
    quality,
    png_level,
    overwrite,
    max_pixels,
    engine,
    ray_address,
    workers,
    threads,
    quiet,
):
    """Upscale images: files, folders (with -o) and globs; - reads standard input, -o - writes standard output."""
    from .batch import BatchOptions, BatchUsageError, plan_jobs, prepare_outputs, run_batch
    from .files import shown
    from .pipeline import Upscaler

    inputs = list(inputs) + list(more_inputs)
    if not inputs:
        raise click.UsageError("name an input: a file, a folder, a glob, or - for standard input")
    ctx = click.get_current_context()
    scale = one_scale(ctx, scales, model, any_factor=True)
    by_size = width is not None or height is not None
    if by_size and ctx.get_parameter_source("scales") is click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("-s and --width/--height both set the size: give one")
    device = resolve_device(device, gpu)
    if engine == "local" and (ray_address or workers):
        raise click.UsageError(f"{'--ray-address' if ray_address else '--workers'} needs --engine ray")
    if engine == "ray":
        from .distributed import RAY_EXTRA_HINT, check_address, ray_installed

        if not ray_installed():
            raise click.ClickException(f"--engine ray needs Ray: {RAY_EXTRA_HINT}")
        check_address(ray_address)  # an unreachable cluster is found before any work
        if "-" in inputs or output == "-":
            raise click.UsageError("--engine ray reads and writes files: standard input and output stay local")
    # the model is resolved first: a mistyped -m is an error even when every output exists
    upscaler = Upscaler(
        model,
        scale,
        width=width,
        height=height,
        fit=fit,
        channels=channels,
        device=device,
        threads=threads,
        tile=tile,
        ensemble=ensemble,
        runtime=runtime,
        model_scale=model_scale,
    )
    if suffix is None:  # a model other than the default names itself: outputs never take each other's names
        tag = upscaler.output_tag
        suffix = _size_suffix(scale, width, height) + (f"_{tag}" if tag else "")
    if "-" in inputs or output == "-":
        _upscale_pipe(
            inputs[0] if len(inputs) == 1 else None,
            output,
            fmt,
            quality,
            overwrite,
            max_pixels,
            quiet,
            upscaler,
            png_level,
        )
        return
    try:
        from .models import known_output_tags

        plan = plan_jobs(
            inputs,
            output,
            scale=scale,
            suffix=suffix,
            fmt=fmt,
            recursive=recursive,
            overwrite=overwrite,
            model_tags=tuple(known_output_tags()),
        )
    except BatchUsageError as exc:
        raise click.UsageError(str(exc)) from None
    prepare_outputs(plan.folders)  # an unwritable output folder fails before any work
    interactive = sys.stderr.isatty() and not quiet
    say = _echo_err
    for result in plan.skipped:
        if not quiet:
            say(f"skipped {shown(result.source)}: {result.message}")
    for result in plan.missing:
        say(f"Error: {shown(result.source)}: {result.message}")
    if not plan.jobs:
        if plan.missing:
            _echo_err(f"0 upscaled, {len(plan.skipped)} skipped, {len(plan.missing)} failed")
            raise SystemExit(1)
        if not quiet:  # the summary line says that nothing ran, and why
            say(
                f"0 upscaled, {len(plan.skipped)} skipped, 0 failed: nothing to upscale (every input was skipped; "
                "--overwrite redoes existing outputs)"
                if plan.skipped
                else "no images found"
            )
        return
    bar = tile_bar = None
    if interactive:
        from tqdm import tqdm

        bar = tqdm(total=len(plan.jobs), unit="file", desc="upscale", file=sys.stderr)
        say = functools.partial(tqdm.write, file=sys.stderr)

    def on_tile(done: int, total: int) -> None:
        nonlocal tile_bar
        if not interactive or total < 4:
            return
        if tile_bar is None:
            from tqdm import tqdm

            tile_bar = tqdm(total=total, unit="tile", leave=False, position=1, file=sys.stderr)
        tile_bar.update(1)
        if done == total:
            tile_bar.close()
            tile_bar = None

    results = []

    def on_result(result) -> None:
        results.append(result)
        if result.status == "failed":
            say(f"Error: {shown(result.source)}: {result.message}")
        else:
            for note in result.notes:
                say(f"Warning: {shown(result.source)}: {note}")
            if not quiet:
                how = f"{result.how}, " if result.how else ""
                say(f"{shown(result.source)} -> {shown(result.target)} ({how}{result.seconds:.1f} s)")
        if bar is not None:
            bar.update(1)

    options = BatchOptions(fmt=fmt, quality=quality, max_pixels=max_pixels, png_level=png_level)
    try:
        if engine == "ray":
            _upscale_on_ray(
                plan.jobs,
                options,
                on_result,
                bar,
                ray_address,
                workers,
                dict(
                    model=_shared_model(model),
                    scale=scale,
                    width=width,
                    height=height,
                    fit=fit,
                    channels=channels,
                    device=device,
                    tile=tile,
                    ensemble=ensemble,
                    runtime=runtime,
                    model_scale=model_scale,
                ),
            )
        else:
            run_batch(
                plan.jobs,
                upscaler.stream,
                options,
                on_result=on_result,
                on_tile=on_tile,
                explain=upscaler.describe if upscaler.by_size else None,
                output_size=upscaler.output_size,
            )
    except (KeyboardInterrupt, Terminated) as exc:
        for progress in (tile_bar, bar):
            if progress is not None:
                progress.close()
        done = sum(r.status == "done" for r in results)
        raise type(exc)(
            f"{done} of {len(plan.jobs)} files upscaled before it; the same command again upscales the rest"
        ) from None
    if bar is not None:
        bar.close()
    failed = sum(r.status == "failed" for r in results) + len(plan.missing)
    done = sum(r.status == "done" for r in results)
    if not quiet or failed:
        _echo_err(f"{done} upscaled, {len(plan.skipped)} skipped, {failed} failed")
    if failed:
        raise SystemExit(1)


def _shared_model(model: str | None) -> str | None:
    """A model file named by path is read by every worker: make the path absolute."""
    from .models import looks_like_path

    return str(Path(model).expanduser().resolve()) if model and looks_like_path(model) else model


def _upscale_on_ray(jobs, options, on_result, bar, address, workers, upscaler) -> None:
    """The planned jobs on Ray's workers; the same per-file lines, and MP/s on the bar."""
    import time

    from .distributed import run_on_ray, shutdown

    started, megapixels = time.monotonic(), 0.0

    def on_file(result, pixels: float) -> None:
        nonlocal megapixels
        megapixels += pixels
        on_result(result)
        if bar is not None:
            bar.set_postfix_str(f"{megapixels / max(1e-9, time.monotonic() - started):.2f} MP/s")

    try:
        run_on_ray(jobs, upscaler, options, address=address, workers=workers, on_result=on_file)
    finally:
        shutdown()


def _size_suffix(scale, width: int | None, height: int | None) -> str:
    """The default output suffix: _x3, _x2.5, _w1920, _h1080, _1920x1080."""
    if width and height:
        return f"_{width}x{height}"
    if width or height:
        return f"_w{width}" if width else f"_h{height}"
    return f"_x{scale:g}"


def _standard_output():
    """Standard output's binary stream, or a usage error where an image cannot go there."""
    stream = sys.stdout
    if stream is None:
        raise click.UsageError("standard output is closed: name an output file with -o")
    try:
        os.fstat(stream.fileno())
    except (AttributeError, ValueError, io.UnsupportedOperation):
        pass  # not a file descriptor (a test runner's buffer): nothing to check
    except OSError:
        raise click.UsageError("standard output is closed: name an output file with -o") from None
    if stream.isatty():
        raise click.UsageError(
            "standard output is a terminal, not a place for an image: "
            "redirect it (> out.png) or name an output file with -o"
        )
    return stream.buffer


def _upscale_pipe(source, output, fmt, quality, overwrite, max_pixels, quiet, upscaler, png_level) -> None:
    """One image from standard input (``-``) and/or to standard output (``-o -``, or no -o after ``-``)."""
    import time

    from .batch import upscale_encoded
    from .files import shown, write_atomic
    from .imageio import format_for, max_file_bytes, read_file_bytes

    if source is None:
        raise click.UsageError("standard input (-) and standard output (-o -) take exactly one image")
    to_stdout = output in (None, "-")
    stdout = _standard_output() if to_stdout else None  # checked before reading a byte
    limit = max_file_bytes(max_pixels)
    if source == "-":
        stdin = sys.stdin.buffer
        if stdin.isatty():
            raise click.UsageError("no image on standard input: pipe one in, or name a file")
        data, name = stdin.read(limit + 1) if limit else stdin.read(), "<stdin>"
        if limit and len(data) > limit:  # /dev/zero, say: read no further than any image could go
            raise click.ClickException(
                f"<stdin>: more than {limit:,} bytes, more than an image within the pixel "
                "limit can take (raise it with --max-pixels)"
            )
    else:
        if Path(source).is_dir():
            raise click.UsageError("-o - (standard output) takes one image file, not a folder")
        try:
            data, name = read_file_bytes(source, max_bytes=limit), shown(source)
        except SrcnnError as exc:
            raise click.ClickException(f"{shown(source)}: {exc}") from None
    target = None if to_stdout else Path(output)
    if target is not None:
        if target.exists() and not overwrite and not target.is_dir():
            if not quiet:
                _echo_err(f"skipped {name}: output exists (use --overwrite)")
            return
        _prepare_output(output, "--output")  # a folder, or a file in the way, fails before the work
    target_format = format_for(target, fmt) if target is not None or fmt else None
    started = time.monotonic()
    try:
        encoded, notes = upscale_encoded(
            data, upscaler.upscale, fmt=target_format, quality=quality, max_pixels=max_pixels, png_level=png_level
        )
    except SrcnnError as exc:
        raise click.ClickException(f"{name}: {exc}") from None
    for note in notes:
        _echo_err(f"Warning: {name}: {note}")
    if stdout is not None:  # (to_stdout)
        try:
            stdout.write(encoded)
            stdout.flush()
        except BrokenPipeError:
            # the reader went away; keep Python from complaining again when it flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.ClickException("standard output was closed before the image was written") from None
    elif target is not None:
        with _writing(target):
            write_atomic(target, encoded)
    if not quiet:
        _echo_err(f"{name} -> {'<stdout>' if target is None else shown(target)} ({time.monotonic() - started:.1f} s)")


def _tick(bar) -> None:
    bar.update(1)


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


# --- models ------------------------------------------------------------------------------------
@cli.command(
    epilog=examples(
        "srcnn models                 # bundled and your own, with Set5 PSNR",
        "srcnn models -v              # and where each file is",
        "srcnn models --json          # everything, for tools",
    )
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (with paths and recipes).")
@click.option("-v", "--verbose", is_flag=True, help="Also print each model's file.")
@library_errors
def models(as_json, verbose):
    """List the bundled models and your own (from srcnn export)."""
    from .models import PSNR_OVER_Y, all_models, user_models_dir

    entries = [m.to_json() for m in all_models()]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        click.echo("no models")
        return
    click.echo(
        f"{'name':<22} {'origin':<8} {'arch':<8} {'scale':>5} {'ch':>3} {'sees':<8} {'default':>7} {'Set5 dB':>8}"
    )
    starred = False
    for e in entries:
        set5 = e["psnr"].get("Set5")
        # colour models are scored over Y, Cb and Cr together (Table 5): not comparable with Y
        star = set5 is not None and e["psnr_measure"] != PSNR_OVER_Y
        starred = starred or star
        shown = "-" if set5 is None else f"{set5:.2f}" + ("*" if star else "")
        click.echo(
            f"{e['name']:<22} {e['origin']:<8} {e['arch']:<8} {'x' + str(e['scale']):>5} {e['channels']:>3} "
            f"{e['contract']:<8} {'yes' if e['default'] else '':>7} {shown:>8}"
        )
        if verbose:
            click.echo(f"  {e['path']}")
    click.echo("sees: bicubic = the bicubic-upscaled image (SRCNN's contract)")
    click.echo("      lowres = the low-resolution image, enlarged by the network (FSRCNN's)")
    if starred:  # the footnote explains a star, so only when one was printed
        click.echo("* PSNR over Y, Cb and Cr together, as the paper's Table 5 (the others: Y only)")
    if verbose:
        click.echo(f"your models: {user_models_dir()} ($SRCNN_MODELS)")


# --- convert-mat -------------------------------------------------------------------------------
@cli.command(
    "convert-mat",
    epilog=examples(
        "srcnn convert-mat 9-5-5_imagenet/x3.mat -o authors_x3.onnx -s 3",
        "srcnn upscale photo.png -m authors_x3.onnx",
    ),
)
@click.argument("mat_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .onnx file to write.")
@click.option("-s", "--scale", type=click.IntRange(2, 4), help="Record the scale the weights were trained for.")
@library_errors
def convert_mat(mat_file, output, scale):
    """Convert the SRCNN authors' MATLAB weights (.mat) to an ONNX model."""
    from .files import write_atomic
    from .models import mat_to_onnx_bytes

    if not Path(mat_file).is_file():
        raise click.ClickException(f"no such file: {mat_file}")
    if not mat_file.lower().endswith(".mat"):
        raise click.ClickException(f"{mat_file} is not a .mat file")
    _prepare_output(output, "--output")
    onnx_bytes = mat_to_onnx_bytes(Path(mat_file), scale)
    with _writing(output):
        write_atomic(Path(output), onnx_bytes)
    click.echo(f"wrote {output}")


# --- eval --------------------------------------------------------------------------------------
@cli.command(
    "eval",
    epilog=examples(
        "srcnn eval Set14                                # x3, the default model",
        "srcnn eval Set5 Set14 BSD200 -s 2,3,4 -m 9-5-5  # the paper's Table 2",
        "srcnn eval Set5 -m 9-5-5_x4                     # a model's name sets its scale",
        "srcnn eval Set5 -m path/to/x3.mat               # the authors' released weights (at x3)",
        "srcnn eval my_photos/ -s 2 --per-image --json -",
    ),
)
@click.argument("datasets", nargs=-1, required=True)
@scale_option(many=True)
@model_option()
@model_scale_option
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder holding Set5/, Set14/, BSD200/.")
@click.option(
    "--luma",
    type=click.Choice(["ycbcr", "gray", "ycbcr3"]),
    help="Luminance (default: the paper's per set); ycbcr3: Table 5's PSNR over Y, Cb and Cr "
    "(a Y model with bicubic chroma).",
)
@click.option("--channels", type=click.Choice(["y", "rgb"]), help="Pick the bundled Y or RGB model.")
@click.option("--per-image", is_flag=True, help="Also print a row per image.")
@click.option("--json", "json_path", help="Write JSON results to a file, or - for stdout.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write per-image rows as CSV.")
@click.option(
    "--save-images",
    type=click.Path(file_okay=False),
    help="Save the upscaled images (colour PNG) here, one folder per dataset and scale.",
)
@ensemble_option
@device_options
@runtime_option
@threads_option
@quiet_option
@library_errors
def eval_command(
    datasets,
    scales,
    model,
    model_scale,
    data_dir,
    luma,
    channels,
    per_image,
    json_path,
    csv_path,
    save_images,
    ensemble,
    device,
    gpu,
    runtime,
    threads,
    quiet,
):
    """Reproduce the paper's PSNR/SSIM tables on Set5, Set14, BSD200 or any folder."""
    from .evaluate import evaluate, evaluation_size, results_json

    scales = trained_scales(implied_scales(click.get_current_context(), scales, model))
    device = resolve_device(device, gpu)

    _prepare_output(json_path, "--json")
    _prepare_output(csv_path, "--csv")
    bar = None
    if sys.stderr.isatty() and not quiet:
        from tqdm import tqdm

        total = evaluation_size(list(datasets), scales, data_dir)
        bar = tqdm(total=total, unit="img", desc="eval", file=sys.stderr)
    results = evaluate(
        list(datasets),
        scales,
        model=model,
        data_dir=data_dir,
        luma=luma,
        channels=channels,
        device=device,
        threads=threads,
        save_dir=save_images,
        ensemble=ensemble,
        runtime=runtime,
        model_scale=model_scale,
        on_image=None if bar is None else lambda name: _tick(bar),
    )
    if bar is not None:
        bar.close()
    to_stdout_json = json_path == "-"
    if not to_stdout_json:
        for result in results:
            click.echo(format_result(result, per_image))
    if json_path:
        text = json.dumps(results_json(results), indent=2)
        if to_stdout_json:
            click.echo(text)
        else:
            _write_text(json_path, text + "\n")
    if csv_path:
        import csv

        rows = io.StringIO(newline="")
        writer = csv.writer(rows)
        writer.writerow(["dataset", "scale", "luma", "model", "name", "psnr", "ssim", "bicubic_psnr", "bicubic_ssim"])
        for r in results:
            for row in r.per_image:
                writer.writerow(
                    [
                        r.dataset,
                        r.scale,
                        r.luma,
                        r.model,
                        row.name,
                        f"{row.psnr:.4f}",
                        f"{row.ssim:.4f}",
                        f"{row.bicubic_psnr:.4f}",
                        f"{row.bicubic_ssim:.4f}",
                    ]
                )
        _write_text(csv_path, rows.getvalue())


def _num(value, digits=2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def paper_label(result) -> str:
    """The paper column's header says which of the paper's networks its number is for."""
    if result.luma == "ycbcr3":
        return "paper (RGB)"
    return f"paper ({result.arch})" if result.arch else "paper"


def format_result(result, per_image: bool = False) -> str:
    lines = [
        f"{result.dataset} x{result.scale}  ({result.images} images, luma: {result.luma}, model: {result.model})",
        f"  {'':<10} {'PSNR dB':>8} {'SSIM':>7} {paper_label(result):>14}",
        f"  {'bicubic':<10} {_num(result.bicubic_psnr):>8} {_num(result.bicubic_ssim, 4):>7} "
        f"{_num(result.paper_bicubic_psnr):>14}",
        f"  {'model':<10} {_num(result.psnr):>8} {_num(result.ssim, 4):>7} {_num(result.paper_psnr):>14}",
    ]
    if per_image:
        lines.append(f"  {'image':<14} {'PSNR':>7} {'SSIM':>7} {'bic PSNR':>9} {'bic SSIM':>9}")
        for row in result.per_image:
            lines.append(
                f"  {row.name:<14} {row.psnr:>7.2f} {row.ssim:>7.4f} {row.bicubic_psnr:>9.2f} {row.bicubic_ssim:>9.4f}"
            )
    return "\n".join(lines)


# --- train / export ----------------------------------------------------------------------------
def _torch_device(device: str) -> str:
    """The runtime's device names for PyTorch: auto is CUDA where PyTorch sees a GPU."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not device.startswith("cuda"):
        raise click.BadParameter(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N", param_hint="--device")
    return device


def _need_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        from .extras import install_hint

        raise click.ClickException(f"this command needs PyTorch: {install_hint('train')}") from None


@cli.command(
    epilog=examples(
        "srcnn train --arch 9-5-5 -s 3 --train-dir T91/ --val-dir Set5/ --out runs/955x3 --minutes 30",
        "srcnn train --arch 9-1-5 -s 2 --init 9-1-5_x3 --train-dir T91/ --out runs/915x2 --samples 3000000",
        "srcnn train --out runs/955x3 --resume            # continue where it stopped",
        "srcnn export runs/955x3                          # then: srcnn upscale photo.png -m 955x3",
    )
)
@click.option(
    "--arch",
    default="9-5-5",
    show_default=True,
    help="SRCNN filter sizes f1-f2-f3, or fsrcnn (FSRCNN(56,12,4)), fsrcnn-s (32,5,1), fsrcnn-D-S-M.",
)
@scale_option()
@click.option("--channels", type=click.Choice(["y", "rgb"]), default="y", show_default=True)
@click.option("--n1", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--n2", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--train-dir",
    "train_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Folder of training images (repeatable).",
)
@click.option(
    "--val-dir", type=click.Path(file_okay=False), help="Folder watched for progress (never used to pick weights)."
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder (checkpoints, log, plot).")
@click.option("--recipe", type=click.Choice(["paper", "fast"]), default="fast", show_default=True)
@click.option("--samples", type=click.IntRange(min=1), help="Budget in back-propagated sub-images.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), help="Budget in wall-clock minutes.")
@click.option("--batch", type=click.IntRange(min=1), default=128, show_default=True)
@click.option(
    "--patch",
    type=click.IntRange(min=9),
    default=33,
    show_default=True,
    help="Sub-image size in output pixels (FSRCNN's inputs: patch / scale).",
)
@click.option(
    "--stride", type=click.IntRange(min=1), default=14, show_default=True, help="Sub-image stride in output pixels."
)
@click.option(
    "--downscale-augment", is_flag=True, help="FSRCNN's augmentation: each image also shrunk by 0.9, 0.8, 0.7 and 0.6."
)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Peak learning rate (fast recipe).")
@click.option("--init", help="Start from these weights: a bundled model (9-1-5_x3), an .onnx file or a checkpoint.")
@click.option("--identity-init", is_flag=True, help="Start as an exact identity (= bicubic) instead of at random.")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in --out where it stopped (--device, --threads, --eval-every may change).",
)
@device_options
@threads_option
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--eval-every",
    type=click.FloatRange(min=0, min_open=True),
    default=180.0,
    show_default=True,
    help="Seconds between validation PSNR checks.",
)
@click.option("--export/--no-export", default=True, show_default=True, help="Export to ONNX at the end.")
@click.option(
    "--weights-dir",
    type=click.Path(file_okay=False),
    help="Manifest folder for the export (default: your model folder, $SRCNN_MODELS).",
)
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where Set5/Set14 are, for the manifest's PSNR.")
@quiet_option
@library_errors
def train(
    arch,
    scales,
    channels,
    n1,
    n2,
    train_dirs,
    val_dir,
    out,
    recipe,
    samples,
    minutes,
    batch,
    patch,
    stride,
    downscale_augment,
    lr,
    init,
    identity_init,
    resume,
    device,
    gpu,
    threads,
    seed,
    eval_every,
    export,
    weights_dir,
    data_dir,
    quiet,
):
    """Train an SRCNN or FSRCNN in PyTorch and export it to ONNX (into your model folder)."""
    _need_torch()
    scale = one_scale(click.get_current_context(), scales, None)
    device = _torch_device(resolve_device(device, gpu))
    if not resume and not samples and not minutes:
        raise click.UsageError("give a budget: --samples N or --minutes M")
    if samples and minutes:
        raise click.UsageError("--samples and --minutes cannot be used together")
    from .train.config import TrainConfig
    from .train.loop import train as run_training

    config = TrainConfig(
        arch=arch,
        scale=scale,
        channels=3 if channels == "rgb" else 1,
        n1=n1,
        n2=n2,
        train_dirs=[str(Path(d).resolve()) for d in train_dirs],
        val_dir=val_dir,
        patch=patch,
        stride=stride,
        recipe=recipe,
        batch=batch,
        samples=samples or 0,
        minutes=minutes or 0.0,
        lr=lr,
        seed=seed,
        init=init,
        identity_init=identity_init,
        out=out,
        device=device,
        threads=threads,
        eval_every_s=eval_every,
        downscale_augment=downscale_augment,
    )
    try:
        config.check_arch()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--arch") from None
    if config.fsrcnn:
        config.last_layer_lr_ratio = 0.1  # the FSRCNN paper's deconvolution rate
    # Resuming keeps the run's settings, but may move it (another device, more threads).
    ctx = click.get_current_context()
    where = {
        field: getattr(config, field)
        for options, field in (
            (("device", "gpu"), "device"),
            (("threads",), "threads"),
            (("eval_every",), "eval_every_s"),
        )
        if any(ctx.get_parameter_source(o) is click.core.ParameterSource.COMMANDLINE for o in options)
    }
    terminal = sys.stderr.isatty()

    def log_line(row: dict) -> None:  # where no bar is drawn (a log file, a pipe): a line per log row
        total = f" / {row['total_samples']:,}" if row["total_samples"] else ""
        val = "" if row["val_psnr"] is None else f", validation {row['val_psnr']:.2f} dB"
        _echo_err(f"{row['samples']:,}{total} samples, {row['wall_s'] / 60:.1f} min, loss {row['loss']:.3g}{val}")

    result = run_training(
        config,
        resume=resume,
        progress=not quiet and terminal,
        where=where,
        on_log=None if quiet or terminal else log_line,
    )
    val = f", validation PSNR {result.val_psnr:.2f} dB" if result.val_psnr is not None else ""
    click.echo(
        f"{'finished' if result.finished else 'stopped'}: {result.samples:,} samples in "
        f"{result.wall_s / 60:.1f} min{val}; checkpoint in {result.run_dir}"
    )
    if not result.finished:
        # The run folder keeps the training settings, not what to do at the end: repeat those.
        end_flags = (
            ([] if export else ["--no-export"])
            + (["--weights-dir", weights_dir] if weights_dir else [])
            + (["--data-dir", data_dir] if data_dir else [])
        )
        click.echo("continue with: " + shlex.join(["srcnn", "train", "--out", out, "--resume", *end_flags]))
        return
    if export:
        from .train.export import export_run

        command = " ".join(["srcnn", *sys.argv[1:]])
        info, path = export_run(out, weights_dir=weights_dir, data_dir=data_dir, command=command)
        click.echo(f"exported {info.name} to {path} ({info.psnr})")


@cli.command(
    epilog=examples(
        "srcnn export runs/915x2                  # into your model folder, named 915x2",
        "srcnn export runs/915x2 --name fast_x2   # under another name",
        "srcnn export runs/915x2 --weights-dir weights --eval-sets Set5,Set14   # the bundled weights (maintainers)",
    )
)
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--name", help="The model's name (default: the run folder's name).")
@click.option(
    "--weights-dir",
    type=click.Path(file_okay=False),
    help="Manifest folder to write to (default: your model folder, $SRCNN_MODELS).",
)
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where Set5/Set14 are, for the manifest's PSNR.")
@click.option("--eval-sets", default="Set5,Set14", show_default=True, help="Sets measured into the manifest.")
@click.option("--command", "train_command", help="The training command to record in the manifest.")
@library_errors
def export(run_dir, name, weights_dir, data_dir, eval_sets, train_command):
    """Export a training run to ONNX and add it to a model manifest.

    By default the model goes to your model folder ($SRCNN_MODELS, else
    ~/.local/share/srcnn-cli/models), named after the run; `srcnn models` lists it and
    `-m NAME` uses it. The bundled models are never changed.
    """
    _need_torch()
    from .train.export import export_run

    if name and weights_dir:
        raise click.UsageError("--name names a model in your model folder; --weights-dir uses standard names")
    sets = tuple(s for s in eval_sets.split(",") if s)
    info, path = export_run(
        run_dir, weights_dir=weights_dir, eval_sets=sets, data_dir=data_dir, command=train_command, name=name
    )
    click.echo(f"exported {info.name} to {path} ({info.psnr})")


# --- compare -----------------------------------------------------------------------------------
def _crop(ctx, param, text: str | None) -> tuple[int, int, int, int] | None:
    """Click callback: "X,Y,W,H" -> a region in output pixels."""
    if text is None:
        return None
    try:
        x, y, width, height = (int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not X,Y,WIDTH,HEIGHT") from None
    return x, y, width, height


@cli.command(
    epilog=examples(
        "srcnn compare photo.png -o sheet.png                  # bicubic, each x3 model, the original",
        "srcnn compare photo.png -s 2 -m 9-5-5 --crop 100,80,64,64 -o sheet.png",
        "srcnn compare small.png --low-res -o sheet.png        # no ground truth: no PSNR",
    )
)
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The sheet (PNG) to write.")
@scale_option()
@click.option("-m", "--model", "model", help="Models, comma-separated (default: every bundled Y model at the scale).")
@click.option(
    "--crop", callback=_crop, help="The region X,Y,WIDTH,HEIGHT in output pixels (default: the most detailed)."
)
@click.option(
    "--size",
    type=click.IntRange(min=8),
    default=64,
    show_default=True,
    help="Side of the region picked when --crop is not given.",
)
@click.option("--zoom", type=click.IntRange(min=1), help="Nearest-neighbour zoom of the region (default: to 256 px).")
@click.option("--low-res", is_flag=True, help="IMAGE is the low-resolution input, not a ground truth to downscale.")
@device_options
@runtime_option
@threads_option
@library_errors
def compare(image, output, scales, model, crop, size, zoom, low_res, device, gpu, runtime, threads):
    """Compare bicubic and models on one region of an image (the paper's Fig. 14)."""
    from .compare import compare as run_compare
    from .compare import render_sheet
    from .files import shown
    from .imageio import load_uint8
    from .models import all_models

    scale = one_scale(click.get_current_context(), scales, None)
    device = resolve_device(device, gpu)
    _prepare_output(output, "--output")
    models = [m for m in (model or "").split(",") if m] or [
        m.name for m in all_models() if m.origin == "bundled" and m.scale == scale and m.channels == 1
    ]
    try:
        pixels = load_uint8(image)
    except SrcnnError as exc:
        raise click.ClickException(f"{shown(image)}: {exc}") from None
    sheet = run_compare(
        pixels,
        scale=scale,
        models=models,
        name=Path(image).name,
        crop=crop,
        size=size,
        zoom=zoom,
        low_res=low_res,
        device=device,
        threads=threads,
        runtime=runtime,
    )
    with _writing(output):
        render_sheet(sheet, output)
    for panel in sheet.panels:
        click.echo("  ".join(panel.caption()))
    click.echo(f"wrote {output}")


# --- bench -------------------------------------------------------------------------------------
BENCH_MAX_PIXELS = 16_000_000  # the whole frame goes through at once: 9-5-5 needs ~0.5 KB a pixel


def _size(ctx, param, text: str) -> tuple[int, int]:
    """Click callback: "1280x720" -> (1280, 720)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not WIDTHxHEIGHT") from None
    if width < 16 or height < 16:
        raise click.BadParameter("the size must be at least 16x16")
    if width * height > BENCH_MAX_PIXELS:
        raise click.BadParameter(
            f"at most {BENCH_MAX_PIXELS // 1_000_000} megapixels: bench times whole frames "
            "(upscale tiles larger images)"
        )
    return width, height


@cli.command(
    epilog=examples(
        "srcnn bench                                   # 9-1-5, 9-3-5, 9-5-5 at x3 on a 1280x720 plane",
        "srcnn bench -m 9-5-5 --size 1920x1080 -g 0 --json -",
        "srcnn bench --plot tradeoff.png               # Set14 PSNR against time (the paper's Fig. 12)",
    )
)
@model_option(many=True)
@scale_option()
@click.option(
    "--size", default="1280x720", show_default=True, callback=_size, help="Output (network input) size, WIDTHxHEIGHT."
)
@device_options
@runtime_option
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True)
@threads_option
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where Set14 is, for the PSNR column.")
@click.option("--no-psnr", is_flag=True, help="Skip the Set14 PSNR column.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Write PSNR vs time (PNG).")
@click.option("--json", "json_path", help="Write JSON to a file, or - for stdout.")
@quiet_option
@library_errors
def bench(model, scales, size, device, gpu, runtime, repeat, threads, data_dir, no_psnr, plot_path, json_path, quiet):
    """Time models (9-1-5 vs 9-5-5, ...) against this machine's FP32 peak."""
    from .bench import bench as run_bench
    from .bench import bench_plot

    width, height = size
    scale = one_scale(click.get_current_context(), scales, None)
    device = resolve_device(device, gpu)
    _prepare_output(json_path, "--json")
    _prepare_output(plot_path, "--plot")
    if plot_path:  # the plot is Set14 PSNR against time: without Set14, say so before any timing
        if no_psnr:
            raise click.UsageError("--plot draws Set14 PSNR against time: drop --no-psnr")
        from .bench import set14_problem

        problem = set14_problem(data_dir)
        if problem:
            raise click.ClickException(f"--plot needs Set14 PSNR: {problem}")
    models = [m for m in model.split(",") if m]
    bar = None
    if sys.stderr.isatty() and not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(models), unit="model", desc="bench", file=sys.stderr)
    report = run_bench(
        models,
        scale=scale,
        size=(width, height),
        device=device,
        repeat=repeat,
        threads=threads,
        runtime=runtime,
        data_dir=False if no_psnr else data_dir,
        on_model=None if bar is None else lambda name: _tick(bar),
    )
    if bar is not None:
        bar.close()
    if json_path != "-":
        click.echo(
            f"{report.cpu}, device {report.device}, {width}x{height} at x{scale}, threads "
            f"{report.threads or 'all'}, FP32 peak {report.peak_gflops:.1f} GFLOP/s ({report.peak_source})"
        )
        click.echo(
            f"{'model':<14} {'runtime':<11} {'model ms':>9} {'MP/s':>6} {'of peak':>7} "
            f"{'end-to-end ms':>13} {'MP/s':>6} {'of model':>8} {'RSS MiB':>7} {'Set14 dB':>8}"
        )
        for r in report.results:
            click.echo(
                f"{r.model:<14} {r.runtime:<11} {r.ms_median:>9.1f} {r.mpix_per_s:>6.2f} "
                f"{_num(r.peak_fraction, 2):>7} {r.end_to_end_ms:>13.1f} {r.end_to_end_mpix_per_s:>6.2f} "
                f"{r.end_to_end_fraction:>8.2f} {_num(r.peak_rss_mib, 0):>7} {_num(r.set14_psnr):>8}"
            )
        click.echo(
            f"{'bicubic':<14} {'numpy':<11} {report.bicubic_ms:>9.1f} {'':>6} {'':>7} {'':>13} {'':>6} "
            f"{'':>8} {'':>7} {_num(report.bicubic_set14_psnr):>8}"
        )
        if report.set14_missing:
            click.echo(f"Set14 dB is - because {report.set14_missing}")
    if json_path:
        text = json.dumps(report.to_json(), indent=2)
        if json_path == "-":
            click.echo(text)
        else:
            _write_text(json_path, text + "\n")
    if plot_path:
        with _writing(plot_path):
            bench_plot(report, plot_path)


def main():
    cli(prog_name="srcnn")
