"""Writing SRCNN networks as ONNX files, with no dependency beyond numpy (and reading their
layers back, ``read_layers``, with the ``onnx`` package, for training and tools).

The ONNX format is a protobuf message; an SRCNN graph needs only a handful of its fields, so we
encode them directly rather than pull in the ``onnx`` package at run time. Every model we write
follows the project's model contract:

* one float32 input ``input`` of shape N x C x H x W (N, H, W dynamic), values in [0, 1];
* one float32 output ``output`` of the same shape;
* each convolution is preceded by an edge-replicating Pad, so the model pads itself;
* the last convolution is written blocked (``_blocked_last_layer``: the same sums, 3x faster),
  its weights kept as they are under ``conv3.weight`` (every layer: ``conv{i}.weight``/``.bias``);
* metadata (``srcnn.*`` keys) records arch, n1, n2, scale, channels and the receptive radius.

Opset 17, IR version 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPSET = 17
IR_VERSION = 8
_FLOAT, _UINT8, _UINT16, _INT64 = 1, 2, 4, 7
_ELEMENT_TYPES = {
    np.dtype(np.float32): _FLOAT,
    np.dtype(np.uint8): _UINT8,
    np.dtype(np.uint16): _UINT16,
    np.dtype(np.int64): _INT64,
}
_ATTR_INT, _ATTR_STRING, _ATTR_INTS = 2, 3, 7


# --- protobuf wire format: varints and length-delimited fields --------------------------------
def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # two's complement for negative int64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _str_field(number: int, text: str) -> bytes:
    return _bytes_field(number, text.encode("utf-8"))


# --- ONNX messages ------------------------------------------------------------------------------
def _tensor(name: str, array: np.ndarray) -> bytes:
    if array.dtype not in (np.float32, np.int64):
        raise TypeError(f"unsupported initializer dtype {array.dtype}")
    data_type = _ELEMENT_TYPES[array.dtype]
    body = b"".join(_int_field(1, int(d)) for d in array.shape)
    body += _int_field(2, data_type) + _str_field(8, name)
    body += _bytes_field(9, np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())
    return body


def _attribute_int(name: str, value: int) -> bytes:
    return _str_field(1, name) + _int_field(3, value) + _int_field(20, _ATTR_INT)


def _attribute_ints(name: str, values) -> bytes:
    return _str_field(1, name) + b"".join(_int_field(8, int(v)) for v in values) + _int_field(20, _ATTR_INTS)


def _attribute_string(name: str, value: str) -> bytes:
    return _str_field(1, name) + _str_field(4, value) + _int_field(20, _ATTR_STRING)


def _node(op_type: str, inputs, outputs, name: str, attributes=()) -> bytes:
    body = b"".join(_str_field(1, i) for i in inputs)
    body += b"".join(_str_field(2, o) for o in outputs)
    body += _str_field(3, name) + _str_field(4, op_type)
    body += b"".join(_bytes_field(5, a) for a in attributes)
    return body


def _value_info(name: str, dims_spec, dtype=np.float32) -> bytes:
    """A tensor's name, element type and shape; each dimension a fixed int or a symbolic name."""
    dims = [_bytes_field(1, _int_field(1, d) if isinstance(d, int) else _str_field(2, d)) for d in dims_spec]
    shape = b"".join(dims)
    tensor_type = _int_field(1, _ELEMENT_TYPES[np.dtype(dtype)]) + _bytes_field(2, shape)
    return _str_field(1, name) + _bytes_field(2, _bytes_field(1, tensor_type))


@dataclass(frozen=True)
class Layer:
    weight: np.ndarray  # out x in x k x k, float32 (correlation, as in PyTorch and ONNX)
    bias: np.ndarray  # out


def receptive_radius(layers: list[Layer]) -> int:
    return sum(layer.weight.shape[-1] // 2 for layer in layers)


OUTPUT_BLOCK = 4  # the last layer computes 4 x 4 output pixels per position (``_blocked_last_layer``)


def srcnn_onnx_bytes(layers: list[Layer], metadata: dict[str, str] | None = None) -> bytes:
    """Serialise a chain of (Pad edge, Conv, Relu) layers, no Relu after the last, to ONNX."""
    if not layers:
        raise ValueError("a model needs at least one layer")
    channels = layers[0].weight.shape[1]
    if layers[-1].weight.shape[0] != channels:
        raise ValueError("the last layer must output as many channels as the input has")
    nodes, initializers = [], []
    current = "input"
    for index, layer in enumerate(layers, start=1):
        weight = np.asarray(layer.weight, dtype=np.float32)
        bias = np.asarray(layer.bias, dtype=np.float32).reshape(-1)
        if weight.ndim != 4 or weight.shape[2] != weight.shape[3] or weight.shape[2] % 2 == 0:
            raise ValueError(f"layer {index}: expected square odd kernels, got {weight.shape}")
        radius = weight.shape[-1] // 2
        pads = np.array([0, 0, radius, radius, 0, 0, radius, radius], dtype=np.int64)
        initializers += [
            _tensor(f"pads{index}", pads),
            _tensor(f"conv{index}.weight", weight),
            _tensor(f"conv{index}.bias", bias),
        ]
        padded, conv_out = f"padded{index}", f"conv{index}"
        nodes.append(
            _node("Pad", [current, f"pads{index}"], [padded], f"pad{index}", [_attribute_string("mode", "edge")])
        )
        if index == len(layers):
            _blocked_last_layer(nodes, initializers, padded, index, weight.shape[-1], OUTPUT_BLOCK)
            break
        nodes.append(
            _node(
                "Conv",
                [padded, f"conv{index}.weight", f"conv{index}.bias"],
                [conv_out],
                f"conv{index}",
                [
                    _attribute_ints("kernel_shape", weight.shape[2:]),
                    _attribute_ints("pads", [0, 0, 0, 0]),
                    _attribute_ints("strides", [1, 1]),
                    _attribute_int("group", 1),
                ],
            )
        )
        nodes.append(_node("Relu", [conv_out], [f"relu{index}"], f"relu{index}"))
        current = f"relu{index}"
    meta = {"srcnn.receptive_radius": str(receptive_radius(layers)), "srcnn.channels": str(channels)}
    meta.update(metadata or {})
    shape = ["N", channels, "H", "W"]
    return _model_bytes("srcnn", nodes, initializers, [("input", shape)], [("output", shape)], meta)


def _blocked_last_layer(nodes: list, initializers: list, padded: str, index: int, size: int, block: int) -> None:
    """The last convolution (few output channels: the runtimes' kernels vectorise badly over
    one) as a stride-``block`` convolution that makes each position's ``block`` x ``block``
    output pixels as channels, then ``DepthToSpace`` and a crop to the input's size: 3x faster
    on onnxruntime and OpenVINO, the same sums. The blocked kernel is built in the graph from
    ``conv{index}.weight`` (the runtimes fold it when they load the model), so the file keeps
    the layer's own weights."""
    name = f"conv{index}"
    shifted = []
    for row in range(block):  # output phase (row, col): the kernel moved by (row, col) in a larger one
        for col in range(block):
            pads = np.array([0, 0, row, col, 0, 0, block - 1 - row, block - 1 - col], np.int64)
            initializers.append(_tensor(f"{name}.phase{row}{col}", pads))
            nodes.append(
                _node(
                    "Pad", [f"{name}.weight", f"{name}.phase{row}{col}"], [f"{name}.w{row}{col}"], f"{name}.w{row}{col}"
                )
            )
            shifted.append(f"{name}.w{row}{col}")
    nodes.append(
        _node("Concat", shifted, [f"{name}.blocked_weight"], f"{name}.blocked_weight", [_attribute_int("axis", 0)])
    )
    initializers.append(_tensor(f"{name}.repeats", np.array([block * block], np.int64)))
    nodes.append(_node("Tile", [f"{name}.bias", f"{name}.repeats"], [f"{name}.blocked_bias"], f"{name}.blocked_bias"))
    nodes.append(
        _node(
            "Conv",
            [padded, f"{name}.blocked_weight", f"{name}.blocked_bias"],
            [f"{name}.blocks"],
            name,
            [
                _attribute_ints("kernel_shape", [size + block - 1] * 2),
                _attribute_ints("pads", [0, 0, block - 1, block - 1]),
                _attribute_ints("strides", [block, block]),
                _attribute_int("group", 1),
            ],
        )
    )
    # channel (row * block + col) * C + c of the blocks is pixel (row, col) of channel c: DCR
    nodes.append(
        _node(
            "DepthToSpace",
            [f"{name}.blocks"],
            [f"{name}.spread"],
            "spread",
            [_attribute_int("blocksize", block), _attribute_string("mode", "DCR")],
        )
    )
    initializers += [
        _tensor("first_dims", np.array([2], np.int64)),
        _tensor("last_dims", np.array([4], np.int64)),
        _tensor("crop_start", np.array([0, 0], np.int64)),
        _tensor("crop_axes", np.array([2, 3], np.int64)),
    ]
    nodes.append(_node("Shape", ["input"], ["input_shape"], "input_shape"))
    nodes.append(_node("Slice", ["input_shape", "first_dims", "last_dims"], ["input_size"], "input_size"))
    nodes.append(_node("Slice", [f"{name}.spread", "crop_start", "input_size", "crop_axes"], ["output"], "crop"))


def _model_bytes(name, nodes, initializers, inputs, outputs, metadata) -> bytes:
    graph = b"".join(_bytes_field(1, n) for n in nodes)
    graph += _str_field(2, name)
    graph += b"".join(_bytes_field(5, t) for t in initializers)
    graph += b"".join(_bytes_field(11, _value_info(*spec)) for spec in inputs)
    graph += b"".join(_bytes_field(12, _value_info(*spec)) for spec in outputs)
    model = _int_field(1, IR_VERSION)
    model += _str_field(2, "srcnn-cli")
    model += _bytes_field(7, graph)
    model += _bytes_field(8, _str_field(1, "") + _int_field(2, OPSET))
    model += b"".join(_bytes_field(14, _str_field(1, k) + _str_field(2, str(v))) for k, v in metadata.items())
    return model


def read_layers(data: bytes) -> tuple[list[Layer], dict[str, str]]:
    """The layers (``conv1.weight``/``conv1.bias``, ``conv2...``: as ``srcnn_onnx_bytes`` names
    them, in order, while both are there) and the metadata of an ONNX model. Needs the ``onnx``
    package (the train and dev extras); its parse errors go up as they are."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers: list[Layer] = []
    while {f"conv{len(layers) + 1}.weight", f"conv{len(layers) + 1}.bias"} <= tensors.keys():
        index = len(layers) + 1
        layers.append(Layer(tensors[f"conv{index}.weight"], tensors[f"conv{index}.bias"]))
    return layers, {p.key: p.value for p in model.metadata_props}


def matmul_onnx_bytes(size: int) -> bytes:
    """A single size x size float32 MatMul, for measuring the machine's FP32 peak."""
    square = [size, size]
    node = _node("MatMul", ["a", "b"], ["c"], "matmul")
    return _model_bytes("matmul", [node], [], [("a", square), ("b", square)], [("c", square)], {})


def identity_layers(filter_sizes=(9, 5, 5), n1: int = 64, n2: int = 32, channels: int = 1) -> list[Layer]:
    """An SRCNN whose output equals its input exactly (for tests and sanity checks).

    ReLU would clip the negative overshoot of bicubic, so each channel is carried twice, as x
    and -x, and the last layer recombines ReLU(x) - ReLU(-x) = x.
    """
    f1, f2, f3 = filter_sizes
    w1 = np.zeros((n1, channels, f1, f1), np.float32)
    w2 = np.zeros((n2, n1, f2, f2), np.float32)
    w3 = np.zeros((channels, n2, f3, f3), np.float32)
    for c in range(channels):
        w1[2 * c, c, f1 // 2, f1 // 2], w1[2 * c + 1, c, f1 // 2, f1 // 2] = 1.0, -1.0
        w2[2 * c, 2 * c, f2 // 2, f2 // 2] = w2[2 * c + 1, 2 * c + 1, f2 // 2, f2 // 2] = 1.0
        w3[c, 2 * c, f3 // 2, f3 // 2], w3[c, 2 * c + 1, f3 // 2, f3 // 2] = 1.0, -1.0
    return [
        Layer(w1, np.zeros(n1, np.float32)),
        Layer(w2, np.zeros(n2, np.float32)),
        Layer(w3, np.zeros(channels, np.float32)),
    ]


class GraphBuilder:
    """A small ONNX graph written node by node: each ``node`` call returns its output's name.

    Attribute values: int, str, or a list/tuple of ints."""

    def __init__(self, name: str):
        self.name = name
        self._nodes: list[bytes] = []
        self._initializers: list[bytes] = []
        self._count = 0
        self.metadata: dict[str, str] = {}

    def named_constant(self, name: str, array: np.ndarray) -> str:
        self._initializers.append(_tensor(name, np.asarray(array)))
        return name

    def constant(self, array: np.ndarray) -> str:
        self._count += 1
        name = f"const{self._count}"
        self._initializers.append(_tensor(name, np.asarray(array)))
        return name

    def node(self, op_type: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        self._count += 1
        output = output or f"{op_type.lower()}{self._count}"
        encoded = []
        for key, value in attributes.items():
            if isinstance(value, str):
                encoded.append(_attribute_string(key, value))
            elif isinstance(value, (list, tuple)):
                encoded.append(_attribute_ints(key, value))
            else:
                encoded.append(_attribute_int(key, int(value)))
        self._nodes.append(_node(op_type, inputs, [output], f"{op_type.lower()}{self._count}", encoded))
        return output

    def build(self, inputs: list[tuple], outputs: list[tuple]) -> bytes:
        """``inputs``/``outputs``: (name, dims, dtype) for each; dims fixed ints or symbolic names."""
        return _model_bytes(self.name, self._nodes, self._initializers, inputs, outputs, self.metadata)


# --- the low-resolution contract: FSRCNN ---------------------------------------------------------
@dataclass(frozen=True)
class FsrcnnWeights:
    """An FSRCNN's layers as PyTorch names them: the convolutions (feature extraction, shrinking,
    mapping, expanding), one PReLU slope vector after each, and the deconvolution (in x out x k x k,
    stride ``scale``, its centre tap of input pixel i on output pixel scale * i + (scale - 1) // 2)."""

    convs: list  # [(weight OIHW, bias)]
    slopes: list  # [slope per channel]
    deconv: tuple  # (weight I x O x k x k, bias O)
    scale: int


def _phase_taps(size: int, scale: int) -> tuple[dict[tuple[int, int], int], int, int]:
    """({(phase, delta): tap}, before, after) of a stride-``scale`` deconvolution of ``size``
    taps: output scale * i + phase reads input i + delta with ``tap``."""
    centre, offset = size // 2, (scale - 1) // 2
    taps = {}
    for phase in range(scale):
        for tap in range(size):
            # input pixel j puts tap t on output scale * j + t + offset - centre
            shift = phase - tap - offset + centre
            if shift % scale == 0:
                taps[(phase, shift // scale)] = tap
    deltas = [delta for _, delta in taps]
    return taps, -min(min(deltas), 0), max(max(deltas), 0)


def subpixel_deconvolution(weight: np.ndarray, scale: int) -> tuple[np.ndarray, int, int]:
    """A stride-``scale`` deconvolution as a convolution on the low-resolution plane whose
    ``scale * scale * out`` channels are the output's phases (then DepthToSpace, DCR): the same
    sums, without the zeros a transposed convolution multiplies. Returns (kernel, before, after):
    the kernel and the low-resolution pixels it reaches before and after its own."""
    channels_in, channels_out, size, _ = weight.shape
    _, before, after = _phase_taps(size, scale)
    width = before + after + 1
    kernel = np.zeros((scale * scale * channels_out, channels_in, width, width), np.float32)
    for phases, row, col, taps in _phase_cells(size, scale, channels_out):
        kernel[phases, :, row, col] = weight[:, :, taps[0], taps[1]].T
    return kernel, before, after


def _phase_cells(size: int, scale: int, channels_out: int):
    """Where each 2-D tap of the deconvolution sits in its sub-pixel kernel: (the phase's output
    channels, kernel row, kernel column, (tap row, tap column)); each tap sits in exactly one."""
    taps, before, _ = _phase_taps(size, scale)
    for (row_phase, row_delta), row_tap in taps.items():
        for (col_phase, col_delta), col_tap in taps.items():
            first = (row_phase * scale + col_phase) * channels_out
            yield slice(first, first + channels_out), row_delta + before, col_delta + before, (row_tap, col_tap)


def fsrcnn_onnx_bytes(weights: FsrcnnWeights, metadata: dict[str, str] | None = None) -> bytes:
    """Serialise an FSRCNN under the low-resolution contract: N x C x H x W in, N x C x sH x sW out.

    Each convolution pads by replicating edges and is followed by its PRelu; the deconvolution
    is written as its sub-pixel convolution (``subpixel_deconvolution``) and DepthToSpace. The
    deconvolution's edge padding is done before the trailing 1 x 1 layers (the expanding one):
    they act on each pixel alone, so padding their input or their output is the same, and their
    input has s channels where their output has d. The layers' own tensors are kept under their
    PyTorch names (``read_fsrcnn_state``)."""
    graph = GraphBuilder("fsrcnn")
    current = "input"
    radius = 0
    deconv_weight = np.asarray(weights.deconv[0], np.float32)
    kernel, before, after = subpixel_deconvolution(deconv_weight, weights.scale)
    sizes = [np.asarray(weight).shape[-1] for weight, _ in weights.convs]
    pointwise_from = len(sizes) - next((i for i, size in enumerate(reversed(sizes)) if size > 1), len(sizes))

    def edge_pad(values: str, first: int, last: int) -> str:
        pads = graph.constant(np.array([0, 0, first, first, 0, 0, last, last], np.int64))
        return graph.node("Pad", [values, pads], mode="edge")

    for index, ((weight, bias), slope) in enumerate(zip(weights.convs, weights.slopes)):
        weight = np.asarray(weight, np.float32)
        r = weight.shape[-1] // 2
        radius += r
        name = "feature" if index == 0 else f"body.{index - 1}"
        w = graph.named_constant(f"{name}.weight", weight)
        b = graph.named_constant(f"{name}.bias", np.asarray(bias, np.float32).reshape(-1))
        if index == pointwise_from:
            current = edge_pad(current, before, after)
        if r:
            current = edge_pad(current, r, r)
        current = graph.node("Conv", [current, w, b], kernel_shape=list(weight.shape[2:]), pads=[0, 0, 0, 0])
        slopes = np.asarray(slope, np.float32).reshape(-1, 1, 1)
        current = graph.node("PRelu", [current, graph.named_constant(f"prelus.{index}.weight", slopes)])
    if pointwise_from == len(sizes):
        current = edge_pad(current, before, after)
    channels = deconv_weight.shape[1]
    deconv_bias = np.asarray(weights.deconv[1], np.float32).reshape(-1)
    phases = graph.named_constant("deconv.phases", kernel)
    phase_bias = graph.named_constant("deconv.phase_bias", np.tile(deconv_bias, weights.scale**2))
    current = graph.node("Conv", [current, phases, phase_bias], kernel_shape=list(kernel.shape[2:]), pads=[0, 0, 0, 0])
    graph.node("DepthToSpace", [current], "output", blocksize=weights.scale, mode="DCR")
    meta = {
        "srcnn.contract": "lowres",
        "srcnn.scale": str(weights.scale),
        "srcnn.channels": str(channels),
        "srcnn.receptive_radius": str(radius + max(before, after)),
        "srcnn.deconv_size": str(deconv_weight.shape[-1]),
    }
    meta.update(metadata or {})
    graph.metadata = meta
    return graph.build(
        [("input", ["N", channels, "H", "W"], np.float32)], [("output", ["N", channels, "H_out", "W_out"], np.float32)]
    )


def read_fsrcnn_state(data: bytes) -> tuple[str, dict[str, np.ndarray]]:
    """(arch, tensors by PyTorch name) of an FSRCNN written by ``fsrcnn_onnx_bytes``."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    state = {
        k: v.reshape(-1) if k.startswith("prelus.") else v
        for k, v in tensors.items()
        if k.split(".")[0] in ("feature", "body", "prelus")
    }
    metadata = {p.key: p.value for p in model.metadata_props}
    scale, size = int(metadata["srcnn.scale"]), int(metadata.get("srcnn.deconv_size", "9"))
    kernel = tensors["deconv.phases"]
    channels_out = kernel.shape[0] // (scale * scale)
    weight = np.zeros((kernel.shape[1], channels_out, size, size), np.float32)
    for phases, row, col, taps in _phase_cells(size, scale, channels_out):
        weight[:, :, taps[0], taps[1]] = kernel[phases, :, row, col].T
    state["deconv.weight"] = weight
    state["deconv.bias"] = tensors["deconv.phase_bias"][:channels_out]
    return metadata.get("srcnn.arch", "fsrcnn"), state
