import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from srcnn_cli.errors import UnsupportedImage
from srcnn_cli.imageio import encode_image, format_for, read_image, write_image


def save(path, image: Image.Image, **options):
    image.save(path, **options)
    return path


def test_modes_are_normalised(tmp_path, rgb_image):
    rgb = Image.fromarray(rgb_image)
    assert read_image(save(tmp_path / "a.png", rgb)).mode == "RGB"
    assert read_image(save(tmp_path / "l.png", rgb.convert("L"))).pixels.ndim == 2
    assert read_image(save(tmp_path / "b.png", rgb.convert("1"))).mode == "L"
    assert read_image(save(tmp_path / "la.png", rgb.convert("LA"))).mode == "LA"
    palette = rgb.convert("P")
    assert read_image(save(tmp_path / "p.png", palette)).mode == "RGB"
    assert read_image(save(tmp_path / "pt.png", palette, transparency=0)).mode == "RGBA"
    cmyk = read_image(save(tmp_path / "c.jpg", rgb.convert("CMYK")))
    assert cmyk.mode == "RGB" and cmyk.notes == ["converted CMYK to RGB"]


def test_only_the_first_frame_is_read_and_that_is_said(tmp_path):
    frames = [Image.fromarray(np.full((6, 5, 3), 40 * i, np.uint8)) for i in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "p.tif", save_all=True, append_images=frames[1:2])
    gif = read_image(tmp_path / "a.gif")
    assert gif.pixels.shape[:2] == (6, 5) and int(gif.pixels.max()) == 0
    assert gif.notes == ["has 3 frames; only the first is upscaled"]
    assert read_image(tmp_path / "p.tif").notes == ["has 2 frames; only the first is upscaled"]
    assert read_image(save(tmp_path / "one.gif", frames[1])).notes == []


def test_16bit_is_kept(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    gray = rng.integers(0, 65536, (9, 11), dtype=np.uint16)
    colour = rng.integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    for name, pixels in [("g.png", gray), ("c.png", colour), ("c.tif", colour), ("g.tif", gray)]:
        cv2.imwrite(str(tmp_path / name), pixels if pixels.ndim == 2 else pixels[:, :, ::-1])
        decoded = read_image(tmp_path / name)
        assert decoded.pixels.dtype == np.uint16, name
        np.testing.assert_array_equal(decoded.pixels, pixels)
        out = tmp_path / f"out_{name}"
        write_image(out, decoded.pixels)
        np.testing.assert_array_equal(read_image(out).pixels, pixels)
    # an 8-bit image whose values happen to be small stays 8-bit: dtype decides, not values
    Image.fromarray(np.full((4, 4), 3, np.uint8)).save(tmp_path / "dark.png")
    assert read_image(tmp_path / "dark.png").pixels.dtype == np.uint8


def test_exif_orientation_applied_and_reset(tmp_path, rgb_image):
    image = Image.fromarray(rgb_image)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "TestCam"
    path = save(tmp_path / "o.jpg", image, exif=exif.tobytes(), quality=95)
    decoded = read_image(path)
    assert decoded.pixels.shape[:2] == (41, 30)
    out = tmp_path / "o_out.jpg"
    write_image(out, decoded.pixels, exif=decoded.exif)
    with Image.open(out) as written:
        assert written.getexif()[0x0112] == 1
        assert written.getexif()[0x010F] == "TestCam"


def test_tiff_metadata_without_its_layout_tags(tmp_path, rgb_image):
    # Pillow hands back a TIFF's whole first IFD as EXIF (size, strips, bits per sample...);
    # written into a larger or re-typed TIFF those made Pillow fail ("codec configuration error")
    image = Image.fromarray(rgb_image)
    exif = image.getexif()
    exif[0x010F] = "ScanCo"
    sources = [
        save(tmp_path / "c.tif", image, exif=exif, compression="tiff_lzw"),
        save(tmp_path / "g.tif", image.convert("L"), exif=exif),
        save(tmp_path / "f.tif", Image.fromarray(rgb_image[:, :, 0].astype(np.float32) / 255, mode="F"), exif=exif),
    ]
    for source in sources:
        decoded = read_image(source)
        tags = Image.Exif()
        tags.load(decoded.exif)
        assert dict(tags) == {0x010F: "ScanCo"}, source.name
        bigger = np.repeat(np.repeat(decoded.pixels, 2, axis=0), 2, axis=1)
        for suffix in (".tif", ".png"):
            out = tmp_path / f"{source.stem}_out{suffix}"
            write_image(out, bigger, exif=decoded.exif)
            with Image.open(out) as written:
                assert written.size == (bigger.shape[1], bigger.shape[0]), out.name
                assert written.getexif()[0x010F] == "ScanCo", out.name
            np.testing.assert_array_equal(read_image(out).pixels, bigger)


def test_icc_profile_kept(tmp_path, rgb_image):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = save(tmp_path / "i.png", Image.fromarray(rgb_image), icc_profile=profile)
    decoded = read_image(path)
    assert decoded.icc_profile == profile
    for name in ("x.png", "x.jpg", "x.webp", "x.tif"):
        write_image(tmp_path / name, decoded.pixels, icc_profile=decoded.icc_profile)
        with Image.open(tmp_path / name) as written:
            assert written.info.get("icc_profile") == profile, name


def test_16bit_colour_tiff_keeps_icc_exif_and_names_alpha(tmp_path):
    # tifffile writes these TIFFs, alpha named by ExtraSamples = 2 (tag 338); EXIF and its
    # Exif sub-directory are merged into its directory afterwards
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "ScanCo"
    exif.get_ifd(0x8769)[0x9003] = "2020:02:02 02:02:02"
    rng = np.random.default_rng(3)
    for channels in (3, 4):
        pixels = rng.integers(0, 65536, (7, 9, channels), dtype=np.uint16)
        notes = write_image(tmp_path / f"c{channels}.tif", pixels, icc_profile=profile, exif=exif.tobytes())
        assert notes == []
        with Image.open(tmp_path / f"c{channels}.tif") as written:
            assert written.info.get("icc_profile") == profile
            assert written.getexif()[0x010F] == "ScanCo"
            assert written.getexif().get_ifd(0x8769)[0x9003] == "2020:02:02 02:02:02"
            assert written.tag_v2.get(338) == ((2,) if channels == 4 else None)
            assert written.mode == ("RGBA" if channels == 4 else "RGB") and written.size == (9, 7)
        np.testing.assert_array_equal(read_image(tmp_path / f"c{channels}.tif").pixels, pixels)


def test_16bit_png_keeps_metadata(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pixels = np.full((5, 6, 3), 40000, np.uint16)
    write_image(tmp_path / "d.png", pixels, icc_profile=profile)
    with Image.open(tmp_path / "d.png") as written:
        assert written.info.get("icc_profile") == profile
    assert read_image(tmp_path / "d.png").pixels.dtype == np.uint16


def test_bad_files(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(UnsupportedImage, match=r"empty file \(0 bytes\)"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(UnsupportedImage, match="not an image"):
        read_image(tmp_path / "text.png")
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7).save(buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:60])
    with pytest.raises(UnsupportedImage, match=r"truncated PNG \(the IDAT chunk runs past the end of the file\)"):
        read_image(tmp_path / "cut.png")
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(UnsupportedImage, match="30x20 is 600 pixels, over the limit of 500"):
        read_image(tmp_path / "big.png", max_pixels=500)
    with pytest.raises(UnsupportedImage, match="no such file"):
        read_image(tmp_path / "missing.png")


def test_output_formats(tmp_path):
    assert format_for("a.JPG") == "JPEG" and format_for("a.png", "tiff") == "TIFF"
    with pytest.raises(UnsupportedImage, match="use -f png"):
        format_for("a.xyz")
    rgba = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(UnsupportedImage, match="JPEG cannot store transparency: write PNG"):
        encode_image(rgba, "JPEG")
    notes = []
    encode_image(np.zeros((4, 4, 3), np.uint16), "JPEG", notes=notes)
    assert "reduced the 16-bit result to 8 bits" in notes[0]
    assert encode_image(np.zeros((4, 4, 2), np.uint8), "BMP")[:2] == b"BM"


def test_float_gray_is_taken_as_unit_range(tmp_path):
    Image.fromarray(np.array([[0.0, 0.5], [1.0, 2.0]], np.float32), mode="F").save(tmp_path / "f.tif")
    decoded = read_image(tmp_path / "f.tif")
    assert decoded.pixels.dtype == np.uint16 and decoded.pixels.tolist() == [[0, 32768], [65535, 65535]]
    assert "taken as 0..1" in decoded.notes[0]
    # "no data" pixels are said and set to 0, not left to whatever a cast makes of them
    Image.fromarray(np.array([[np.nan, 0.5], [np.inf, -np.inf]], np.float32), mode="F").save(tmp_path / "n.tif")
    decoded = read_image(tmp_path / "n.tif")
    assert decoded.pixels.tolist() == [[0, 32768], [65535, 0]]
    assert decoded.notes[1] == "1 pixels were NaN (not a number); taken as 0"


def test_damaged_exif_is_dropped_from_a_tiff_with_a_note(tmp_path):
    pixels = np.zeros((4, 5, 3), np.uint8)
    notes = write_image(tmp_path / "d.tif", pixels, exif=b"Exif\0\0II*\0")
    assert notes == ["the input's EXIF metadata is damaged: written without it"]
    np.testing.assert_array_equal(read_image(tmp_path / "d.tif").pixels, pixels)


def test_streamed_png_chunks_carry_their_checksums(tmp_path):
    """The band writer frames the compressed rows into IDAT chunks of about a megabyte, each
    CRC taken over its pieces without joining them; every chunk must check out with zlib."""
    import struct
    import zlib

    from srcnn_cli.bandwriters import write_png

    pixels = np.random.default_rng(3).integers(0, 256, (700, 900, 3), dtype=np.uint8)  # incompressible
    with open(tmp_path / "bands.png", "wb") as file:
        write_png(file, pixels.shape, pixels.dtype, (pixels[top : top + 64] for top in range(0, 700, 64)))
    data = (tmp_path / "bands.png").read_bytes()
    offset, kinds = 8, []
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        kind, payload = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        assert struct.unpack_from(">I", data, offset + 8 + length)[0] == zlib.crc32(kind + payload), kind
        kinds.append(kind)
        offset += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and kinds.count(b"IDAT") >= 2
    assert np.array_equal(np.asarray(Image.open(tmp_path / "bands.png")), pixels)


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_a_16bit_gray_alpha_tiff_keeps_its_depth_and_its_alpha(tmp_path, planar, identity_model):
    """A (64, 64, 2) uint16 TIFF (minisblack, one extra sample) came out 8-bit gray without its
    alpha, exit 0 and no word: OpenCV's reader, which took it, returns 8-bit gray for two
    samples."""
    import tifffile
    from click.testing import CliRunner

    from srcnn_cli.cli import cli
    from srcnn_cli.imageio import decode_image

    pixels = np.random.default_rng(0).integers(0, 65535, (64, 64, 2), dtype=np.uint16)
    stored = pixels if planar == "contig" else np.moveaxis(pixels, -1, 0)
    tifffile.imwrite(tmp_path / "la.tif", stored, photometric="minisblack", planarconfig=planar, extrasamples=[2])
    decoded = decode_image((tmp_path / "la.tif").read_bytes())
    assert decoded.mode == "LA" and decoded.pixels.dtype == np.uint16
    np.testing.assert_array_equal(decoded.pixels, pixels)
    for out, bands in (("out.png", 2), ("out.tif", 4)):  # (TIFF writes 16-bit gray + alpha as RGBA, with a note)
        result = CliRunner().invoke(
            cli, ["upscale", str(tmp_path / "la.tif"), "-s", "2", "-m", str(identity_model), "-o", str(tmp_path / out)]
        )
        assert result.exit_code == 0, result.output
        upscaled = read_image(tmp_path / out).pixels
        assert upscaled.shape == (128, 128, bands) and upscaled.dtype == np.uint16
        assert upscaled[:, :, -1].std() > 1000  # the alpha is there, and is not flat


def test_a_16bit_cmyk_tiff_is_unsupported_not_corrupt():
    import tifffile

    from srcnn_cli.imageio import decode_image

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((8, 8, 4), np.uint16), photometric="separated")
    with pytest.raises(UnsupportedImage, match="^16-bit TIFF in SEPARATED colour is not supported"):
        decode_image(buffer.getvalue())


def test_max_pixels_alone_decides_for_webp(monkeypatch):
    """Pillow's WebP plugin runs its own decompression-bomb check: a valid 13500x13500 lossless
    WebP (182 M pixels, under the 789 M default) was refused as a "corrupt WEBP file", even with
    --max-pixels 2000000000. Here Pillow's limit is made small instead of the image large."""
    from srcnn_cli.imageio import decode_image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buffer, "WEBP", lossless=True)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64 x 64 is over twice that: Pillow's "bomb"
    assert decode_image(buffer.getvalue(), max_pixels=None).pixels.shape == (64, 64, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000  # the caller's own limit is left as it was
    with pytest.raises(UnsupportedImage, match="64x64 is 4,096 pixels, over the limit of 4,000"):
        decode_image(buffer.getvalue(), max_pixels=4000)


@pytest.mark.parametrize("kind, before_pixels", [(b"zTXt", True), (b"iCCP", True), (b"iTXt", False)])
def test_metadata_that_inflates_too_far_is_dropped_with_a_note(kind, before_pixels):
    """A PNG whose iCCP, iTXt or zTXt chunk inflates past Pillow's text limit was refused as a
    "corrupt PNG file"; its pixels are fine."""
    import struct
    import zlib

    from srcnn_cli.imageio import decode_image

    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    png = buffer.getvalue()
    header = {b"zTXt": b"Comment\x00\x00", b"iCCP": b"icc\x00\x00", b"iTXt": b"Comment\x00\x01\x00\x00\x00"}[kind]
    payload = header + zlib.compress(b"a" * 3_000_000)
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    at = png.index(b"IDAT") - 4 if before_pixels else len(png) - 12
    decoded = decode_image(png[:at] + chunk + png[at:])
    np.testing.assert_array_equal(decoded.pixels, pixels)
    assert decoded.notes == [
        "its ICC profile or text metadata inflates past the size that is read: upscaled without it"
    ]


def test_signed_tiff_samples_are_said_and_not_wrapped():
    """int16 TIFF samples got a note that said "32-bit" and lost their negative values without
    saying so; int8 ones were read as unsigned with no note (-5 became 251)."""
    import tifffile

    from srcnn_cli.imageio import decode_image

    ramp = np.arange(-128, 128, dtype=np.int16).reshape(16, 16)
    for dtype, note in (
        (
            np.int16,
            "converted signed 16-bit integer gray to unsigned 16-bit (values clipped to "
            "0..65535, negative values to 0)",
        ),
        (np.int8, "converted signed 8-bit samples to unsigned, negative values to 0"),
    ):
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, ramp.astype(dtype))
        decoded = decode_image(buffer.getvalue())
        assert decoded.notes == [note]
        assert decoded.pixels[0, 0] == 0 and decoded.pixels[-1, -1] == 127  # -128 clipped, 127 kept


def test_tifffiles_shape_description_is_not_carried_to_another_size():
    import tifffile

    from srcnn_cli.imageio import decode_image

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((16, 16, 3), np.uint8), photometric="rgb")
    decoded = decode_image(buffer.getvalue())
    assert b'{"shape"' not in (decoded.exif or b"")
