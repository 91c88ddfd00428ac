"""Where an FSRCNN's network time goes, layer by layer (OpenVINO's own per-layer timings).

The whole low-resolution plane of a ``--size`` output goes through the model ``--rounds``
times; OpenVINO's profile gives each layer's time, summed here by role: feature extraction
(5x5, 1 -> d), shrinking (1x1, d -> s), mapping (3x3, s -> s, m of them), expanding (1x1,
s -> d), the deconvolution (its sub-pixel convolution, d -> scale^2), and the rest (edge pads,
PReLUs, DepthToSpace, layout reorders). Each role's multiply-adds give its GFLOP/s, set against
the FP32 peak measured in the same run (`srcnn bench`'s). Where the whole command's time goes
around the network (decode, chroma, encode): `benchmarks/overlap.py --models fsrcnn`.

    python benchmarks/fsrcnn_layers.py [--model fsrcnn] [--scale 3] [--size 1280x720] [--rounds 20]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np


def roles(model_bytes: bytes) -> tuple[dict[str, str], dict[str, int]]:
    """(ONNX Conv output -> role, role -> multiply-adds per low-resolution pixel)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(model_bytes)
    shapes = {t.name: numpy_helper.to_array(t).shape for t in model.graph.initializer}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    names = {}
    work: dict[str, int] = defaultdict(int)
    body = [node for node in convs if node.input[1].startswith("body.")]
    for node in convs:
        weight = node.input[1]
        if weight == "feature.weight":
            role = "feature 5x5"
        elif weight == "deconv.phases":
            role = "deconvolution"
        elif node is body[0]:
            role = "shrink 1x1"
        elif node is body[-1]:
            role = "expand 1x1"
        else:
            role = "mapping 3x3"
        names[node.output[0]] = role
        out, inp, kh, kw = shapes[weight]
        work[role] += out * inp * kh * kw
    return names, dict(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="fsrcnn")
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument("--size", default="1280x720", help="The output's size.")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    import openvino

    from srcnn_cli.bench import measure_peak
    from srcnn_cli.machine import cpu_name
    from srcnn_cli.models import resolve_model

    data = resolve_model(args.model, args.scale).data
    names, work = roles(data)
    width, height = (int(v) for v in args.size.split("x"))
    low = np.random.default_rng(0).random((1, 1, height // args.scale, width // args.scale), dtype=np.float32)
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32", "PERF_COUNT": "YES"}
    request = openvino.Core().compile_model(openvino.Core().read_model(data, b""), "CPU", config).create_infer_request()
    for _ in range(3):
        request.infer({0: low})
    spent: dict[str, float] = defaultdict(float)
    walls = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        request.infer({0: low})
        walls.append(time.perf_counter() - start)
        for layer in request.profiling_info:
            base = layer.node_name.split("/")[0]
            spent[names.get(base, "other (pads, PReLU, DepthToSpace, reorders)")] += layer.real_time.total_seconds()
    peak, source = measure_peak("cpu")
    pixels = low.shape[2] * low.shape[3]
    wall = float(np.median(walls))
    print(
        f"CPU: {cpu_name()}; {args.model} x{args.scale}, {width}x{height} output ({low.shape[3]}x{low.shape[2]} in), "
        f"OpenVINO {openvino.get_version()}; FP32 peak {peak:.0f} GFLOP/s ({source})"
    )
    print(f"network: {wall * 1e3:.1f} ms a frame (median of {args.rounds})")
    print(f"{'layer':<45} {'ms':>7} {'share':>6} {'GFLOP/s':>8} {'of peak':>8}")
    total = sum(spent.values())
    for role, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        ms = seconds / args.rounds * 1e3
        flops = 2 * work[role] * pixels / (ms / 1e3) / 1e9 if role in work else None
        rate = f"{flops:>8.1f} {flops / peak:>8.2f}" if flops else f"{'':>8} {'':>8}"
        print(f"{role:<45} {ms:>7.2f} {seconds / total:>6.2f} {rate}")
    all_work = 2 * sum(work.values()) * pixels
    print(
        f"{'whole network':<45} {wall * 1e3:>7.2f} {'':>6} {all_work / wall / 1e9:>8.1f} "
        f"{all_work / wall / 1e9 / peak:>8.2f}"
    )


if __name__ == "__main__":
    main()
