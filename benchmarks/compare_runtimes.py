"""Our runtime (onnxruntime via srcnn_cli) against PyTorch eager and OpenCV DNN, in one run.

Same model, same input plane, same machine, same thread count; prints median milliseconds and
each peer's time as a ratio of ours (> 1 means we are faster), after checking that all three
produce the same output.

    python benchmarks/compare_runtimes.py [--model 9-5-5|PATH.onnx|PATH.mat] [--size 1280x720]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def timed(function, repeat):
    function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def layers_from_onnx(data: bytes):
    """Each layer's weight and bias from an ONNX model srcnn-cli wrote (needs the onnx package)."""
    from srcnn_cli.onnxmodel import read_layers

    return [(layer.weight, layer.bias) for layer in read_layers(data)[0]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="9-5-5")
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="0 = each runtime's default (all cores)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from srcnn_cli.models import resolve_model
    from srcnn_cli.runtime import Session

    loaded = resolve_model(args.model, args.scale)
    plane = np.random.default_rng(0).random((1, height, width), dtype=np.float32)
    results = {}

    session = Session(loaded.data, device="cpu", threads=args.threads)
    ours = session.run(plane)
    results["srcnn-cli (onnxruntime)"] = timed(lambda: session.run(plane), args.repeat)

    try:
        import torch
        from torch.nn import functional as F

        if args.threads:
            torch.set_num_threads(args.threads)
        weights = [(torch.from_numpy(w.copy()), torch.from_numpy(b.copy())) for w, b in layers_from_onnx(loaded.data)]
        x = torch.from_numpy(plane[None])

        @torch.inference_mode()
        def eager():
            y = x
            for index, (w, b) in enumerate(weights):
                r = w.shape[-1] // 2
                y = F.conv2d(F.pad(y, (r, r, r, r), mode="replicate"), w, b)
                if index < len(weights) - 1:
                    y = F.relu(y)
            return y

        assert np.abs(eager().numpy()[0] - ours).max() < 1e-4, "PyTorch output differs"
        results["PyTorch eager"] = timed(eager, args.repeat)
    except ImportError:
        print("PyTorch not installed: skipped")

    import cv2

    if args.threads:
        cv2.setNumThreads(args.threads)
    net = cv2.dnn.readNetFromONNX(np.frombuffer(loaded.data, np.uint8))

    def opencv():
        net.setInput(plane[None])
        return net.forward()

    assert np.abs(opencv()[0] - ours).max() < 1e-4, "OpenCV output differs"
    results["OpenCV DNN"] = timed(opencv, args.repeat)

    baseline = results["srcnn-cli (onnxruntime)"]
    print(f"model {loaded.source}, {width}x{height} plane, threads {args.threads or 'default'}")
    print(f"{'runtime':<26} {'median ms':>10} {'time / ours':>12}")
    for name, ms in results.items():
        print(f"{name:<26} {ms:>10.1f} {ms / baseline:>12.2f}")


if __name__ == "__main__":
    main()
