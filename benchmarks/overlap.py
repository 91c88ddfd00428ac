"""Does the work around the network run beside it, or take turns with it? Where a photo's time goes.

One 1280x720 photo (the mosaic of `benchmarks/pipeline.py`) to x3, in memory (no files), in one
process; for each model, these cases take turns round after round (median of ``--rounds``,
after a warm-up of each):

* network:  the network alone over the tiles the pipeline cuts (what `srcnn bench` times);
* tiles:    the pipeline's bands computed and dropped (per tile: the window, the helper
            graphs, the network);
* deflate:  the PNG writer alone, over those bands made beforehand;
* inline:   the bands written to PNG as they are made, on one thread: nothing overlaps;
* threaded: the bands made on a worker thread ahead of the writer, as `srcnn upscale` does;
* decode:   reading the photo's PNG.

Then the shares: the work beside the network (tiles - network, per tile; deflate; decode), how
much of the writer's work the thread hides (inline - threaded, against deflate), and the
end-to-end / model ratio this work allows if nothing overlapped (network over decode + tiles +
deflate) against the one measured (network over decode + threaded).

    python benchmarks/overlap.py [--models 9-1-5,9-5-5] [--runtime auto] [--rounds 7]
                                 [--size 1280x720] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
from pathlib import Path

from PIL import Image
from pipeline import ROOT, photo_mosaic  # (benchmarks/ is the script's folder, first on sys.path)


def measure(model: str, runtime: str, encoded: bytes, rounds: int) -> tuple[dict[str, float], int, str]:
    from srcnn_cli.bench import alternated, network_over_tiles
    from srcnn_cli.imageio import decode_image, encode_stream
    from srcnn_cli.pipeline import Stream, Upscaler

    upscaler = Upscaler(model, 3, runtime=runtime)
    pixels = decode_image(encoded).pixels
    height, width = pixels.shape[0] * 3, pixels.shape[1] * 3
    count = [0]

    def counting(done: int, total: int) -> None:
        count[0] = total

    made = upscaler.stream(pixels, on_tile=counting)
    bands = list(made.bands)

    def write(stream: Stream) -> None:
        encode_stream(io.BytesIO(), stream, "PNG", notes=[])

    cases = {
        "network": network_over_tiles(upscaler.session, height, width, 3),
        "tiles": lambda: [None for _ in upscaler.stream(pixels).bands],
        "deflate": lambda: write(Stream(made.shape, made.dtype, iter(bands))),
        "inline": lambda: write(upscaler.stream(pixels)),
        "threaded": lambda: write(upscaler.stream(pixels).ahead()),
        "decode": lambda: decode_image(encoded),
    }
    kept = alternated(list(cases.values()), rounds)
    return {name: statistics.median(times) for name, times in zip(cases, kept)}, count[0], upscaler.session.runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="9-1-5,9-5-5")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--size", default="1280x720", help="The photo's size (a multiple of 320x240).")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    from srcnn_cli.machine import cpu_name

    width, height = (int(v) for v in args.size.split("x"))
    buffer = io.BytesIO()
    Image.fromarray(photo_mosaic(args.data_dir, width, height)).save(buffer, "PNG")
    print(
        f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; a {width}x{height} PNG to x3, in memory; "
        f"median of {args.rounds} rounds, the cases taking turns (ms)"
    )
    names = ("network", "tiles", "deflate", "inline", "threaded", "decode")
    print(
        f"{'model':<8} {'runtime':<12}"
        + "".join(f"{name:>9}" for name in names)
        + f"{'beside/tile':>12}{'hidden':>8}{'serial':>8}{'measured':>9}"
    )
    for model in args.models.split(","):
        times, tiles, runtime = measure(model, args.runtime, buffer.getvalue(), args.rounds)
        beside = (times["tiles"] - times["network"]) / max(1, tiles)  # helpers, window, Python per tile
        hidden = (times["inline"] - times["threaded"]) / times["deflate"]  # of the writer's work, by its thread
        serial = times["network"] / (times["decode"] + times["tiles"] + times["deflate"])
        measured = times["network"] / (times["decode"] + times["threaded"])
        print(
            f"{model:<8} {runtime:<12}"
            + "".join(f"{times[name] * 1e3:>9.1f}" for name in names)
            + f"{beside * 1e3:>12.2f}{hidden:>8.2f}{serial:>8.2f}{measured:>9.2f}",
            flush=True,
        )
    print(
        "beside/tile: ms a tile spends beside the network; hidden: the share of the writer's work its "
        "thread hides; serial: the end-to-end / model ratio if nothing overlapped; measured: the "
        "one seen (decode + threaded)"
    )


if __name__ == "__main__":
    main()
