"""The bicubic and colour stages as ONNX graphs (``stages``) against the numpy reference
(``resize.imresize``, ``color``), on every runtime installed here."""

import numpy as np
import pytest

from srcnn_cli.color import rgb2ycbcr
from srcnn_cli.onnxmodel import identity_layers, srcnn_onnx_bytes
from srcnn_cli.resize import axis_weights, imresize
from srcnn_cli.runtime import open_session, openvino_installed
from srcnn_cli.stages import (
    DENSE_LIMIT,
    PAD,
    finish_graph,
    interpolation_matrix,
    is_dense,
    mirror,
    padded_window,
    phase_weights,
    plan_planes,
    prepare_feeds,
    prepare_graph,
)

RUNTIMES = ["onnxruntime"] + (["openvino"] if openvino_installed() else [])


@pytest.fixture(scope="module", params=RUNTIMES)
def session(request):
    return open_session(srcnn_onnx_bytes(identity_layers(n1=8, n2=4)), "cpu", 1, "identity", request.param)


def padded(image: np.ndarray) -> np.ndarray:
    """H x W x B to the 1 x B x H+4 x W+4 window ``prepare`` takes, mirrored as MATLAB does."""
    height, width = image.shape[:2]
    window = image[mirror(-PAD, height + PAD, height)][:, mirror(-PAD, width + PAD, width)]
    return np.ascontiguousarray(window.transpose(2, 0, 1))[None].astype(np.float32)


@pytest.mark.parametrize("length", [1, 2, 3, 7])
def test_mirror_folds_as_matlab(length):
    # in range: the sample itself; out of range: folded back in, the edge sample repeated ([.. 1 0 | 0 1 ..])
    start, stop = -5, length + 5
    expected = [v if 0 <= v < length else None for v in range(start, stop)]
    folded = mirror(start, stop, length)
    assert all(0 <= f < length for f in folded)
    assert [f for f, e in zip(folded, expected) if e is not None] == [e for e in expected if e is not None]
    assert list(mirror(-2, 0, 5)) == [1, 0] and list(mirror(5, 7, 5)) == [4, 3]


@pytest.mark.parametrize(
    "rows, columns",
    [
        ((3, 9), (4, 10)),  # inside the image: a view
        ((0, 5), (2, 9)),  # at the top edge
        ((8, 12), (10, 13)),  # at the bottom right corner
        ((0, 12), (0, 13)),  # the whole image, mirrored on every side
        ((0, 1), (0, 13)),  # wider than the image's reach on one axis
    ],
)
def test_padded_window_is_the_mirrored_window(rows, columns):
    image = np.random.default_rng(0).integers(0, 256, (12, 13, 3), dtype=np.uint8)
    window = padded_window(image, rows, columns)
    expected = image[mirror(rows[0] - PAD, rows[1] + PAD, 12)][:, mirror(columns[0] - PAD, columns[1] + PAD, 13)]
    np.testing.assert_array_equal(window, expected)
    inside = rows[0] >= PAD and columns[0] >= PAD and rows[1] + PAD <= 12 and columns[1] + PAD <= 13
    assert np.shares_memory(window, image) == inside


def test_padded_window_mirrors_more_than_once_on_a_tiny_image():
    image = np.arange(2, dtype=np.uint16).reshape(1, 2, 1)
    window = padded_window(image, (0, 1), (0, 2))
    assert window[:, :, 0].tolist() == [[1, 0, 0, 1, 1, 0]] * 5


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_phase_weights_are_matlabs(scale):
    indices, weights = axis_weights(20, 20 * scale, float(scale))
    phases = phase_weights(scale)
    for out in range(5 * scale, 15 * scale):  # away from the borders
        source, phase = divmod(out, scale)
        row = np.zeros(2 * PAD + 1)
        np.add.at(row, indices[out] - source + PAD, weights[out])
        np.testing.assert_allclose(phases[phase], row, atol=1e-15)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_interpolation_matrix_places_each_phase_on_its_five_samples(scale):
    matrix = interpolation_matrix(scale, 6)
    assert matrix.shape == (6 * scale, 6 + 2 * PAD) and not matrix.flags.writeable
    np.testing.assert_allclose(matrix.sum(axis=1), 1, atol=1e-6)  # bicubic keeps a flat plane flat
    for sample in range(6):
        for phase in range(scale):
            row = matrix[scale * sample + phase]
            np.testing.assert_array_equal(
                row[sample : sample + 2 * PAD + 1], phase_weights(scale)[phase].astype(np.float32)
            )
            assert not row[:sample].any() and not row[sample + 2 * PAD + 1 :].any()
    np.testing.assert_array_equal(interpolation_matrix(scale, 6, transposed=True), matrix.T)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("bands", [1, 3, 4])
@pytest.mark.parametrize("height, width", [(11, 14), (30, DENSE_LIMIT - 2 * PAD + 1)])  # dense, polyphase
def test_prepare_is_the_matlab_bicubic_to_float32_rounding(session, scale, bands, height, width):
    rng = np.random.default_rng(scale * 10 + bands)
    image = rng.random((height, width, bands))
    planes = plan_planes(bands, 1, np.float32)
    window = padded(image)
    dense = is_dense(window.shape)
    assert dense == (width < 100)
    high = session.stage(prepare_graph(scale, planes, dense))(prepare_feeds(window, scale))[0][0]
    assert high.shape == (1 + bands, height * scale, width * scale)
    luma = rgb2ycbcr(image[:, :, :3])[:, :, 0] if bands >= 3 else image[:, :, 0]
    np.testing.assert_allclose(high[0], imresize(luma, scale), atol=2e-6)
    if bands == 4:  # alpha goes through as it is
        np.testing.assert_allclose(high[4], imresize(image[:, :, 3], scale), atol=2e-6)


@pytest.mark.parametrize("bands, network", [(1, 1), (2, 1), (3, 1), (4, 1), (3, 3), (1, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_prepare_then_finish_without_a_network_is_plain_bicubic(session, bands, network, dtype):
    """Y model: R, G and B come back from Y and the chroma; RGB model on gray: the mean of three
    equal planes. Quantised as the numpy path does, to one step at most."""
    top = {np.uint8: 255.0, np.uint16: 65535.0, np.float32: 1.0}[dtype]
    rng = np.random.default_rng(bands * 7 + network)
    image = rng.random((9, 12, bands))
    planes = plan_planes(bands, network, dtype)
    high = session.stage(prepare_graph(3, planes, True))(prepare_feeds(padded(image), 3))
    high = high[0]
    pixels = session.stage(finish_graph(planes, dtype))(
        {"network": np.ascontiguousarray(high[:, :network]), "additive": high[:, network:]}
    )[0][0]
    assert pixels.shape == (27, 36, bands) and pixels.dtype == (np.float32 if dtype == np.float32 else dtype)
    expected = np.clip(imresize(image, 3), 0, 1) * top
    if top > 1:
        expected = np.floor(expected + 0.5)
    assert np.abs(pixels.astype(np.float64) - expected).max() <= (1 if top > 1 else 1e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_finish_rounds_exactly_at_every_step(session, dtype):
    """The values ``finish`` quantises already hold the rounding half: each becomes its floor,
    clipped to the dtype's range, exactly (at, just under and just over every step)."""
    top = 255 if dtype == np.uint8 else 65535
    steps = np.arange(-2, top + 3, dtype=np.float32) if top == 255 else np.linspace(-2, top + 2, 4001, dtype=np.float32)
    values = np.concatenate(
        [
            steps,
            np.nextafter(steps, np.float32(-np.inf)),
            np.nextafter(steps, np.float32(np.inf)),
            steps + np.float32(0.5),
            np.float32([-1e9, 1e9]),
        ]
    )
    planes = plan_planes(1, 1, dtype)
    pixels = session.stage(finish_graph(planes, dtype))(
        {"network": np.zeros((1, 1, 1, values.size), np.float32), "additive": values.reshape(1, 1, 1, -1)}
    )[0]
    expected = np.floor(np.clip(values, np.float32(0.5), np.float32(top + 0.5)))
    np.testing.assert_array_equal(pixels.reshape(-1), expected.astype(dtype))
