"""Numbers published in Dong et al., TPAMI 2016 (Tables 2-5), for side-by-side reports, and
the one FSRCNN number we carry (Dong, Loy, Tang, ECCV 2016: FSRCNN(56,12,4) on Set5 x3).

PSNR and SSIM of bicubic and of SRCNN 9-5-5 (ImageNet-trained) per test set and scale. BSD200
(Table 4) was measured on MATLAB ``rgb2gray`` luminance; Set5 and Set14 on ``rgb2ycbcr`` Y.
"""

from __future__ import annotations

# dataset -> scale -> (bicubic PSNR, SRCNN PSNR, bicubic SSIM, SRCNN SSIM)
TABLES: dict[str, dict[int, tuple[float, float, float, float]]] = {
    "Set5": {2: (33.66, 36.66, 0.9299, 0.9542), 3: (30.39, 32.75, 0.8682, 0.9090), 4: (28.42, 30.49, 0.8104, 0.8628)},
    "Set14": {2: (30.23, 32.45, 0.8687, 0.9067), 3: (27.54, 29.30, 0.7736, 0.8215), 4: (26.00, 27.50, 0.7019, 0.7513)},
    "BSD200": {2: (28.38, 30.29, 0.8524, 0.8977), 3: (25.94, 27.18, 0.7469, 0.7971), 4: (24.65, 25.60, 0.6727, 0.7184)},
}

# The luminance the paper used for each named set ("ycbcr" = rgb2ycbcr Y, "gray" = rgb2gray).
PAPER_LUMA = {"Set5": "ycbcr", "Set14": "ycbcr", "BSD200": "gray"}

# Set5 x3 PSNR of the filter-size study (Sec. 4.3).
FILTER_SIZES_SET5_X3 = {"9-1-5": 32.52, "9-3-5": 32.66, "9-5-5": 32.75}

# FSRCNN's paper, Set5 x3 (the figure SRCNN's 32.75 is set against there)
FSRCNN_SET5_X3 = {"fsrcnn": 33.06}

# Table 5 (Set5 x3): PSNR of colour models over the three uint8 YCbCr channels together (the
# column the paper calls "RGB"): bicubic 34.57, the network trained on RGB 36.44.
COLOUR_SET5_X3 = (34.57, 36.44)
Y_PATH = "Y path"  # a Y network scored on Table 5's measure: Table 5's 36.44 is not its number


def paper_psnr(
    dataset: str, scale: int, channels: int = 1, arch: str | None = "9-5-5"
) -> tuple[float | None, float | None]:
    """(bicubic, SRCNN of this ``arch``) PSNR from the paper, or None for what it did not report.

    Tables 2-4 are the 9-5-5 network; 9-1-5 and 9-3-5 were reported on Set5 x3 only (Sec. 4.3,
    ImageNet-trained); Table 5's colour network on Set5 x3. An unknown ``arch`` has no number.
    """
    if channels == 3:
        if (dataset, scale) != ("Set5", 3):
            return None, None
        return COLOUR_SET5_X3 if arch != Y_PATH else (COLOUR_SET5_X3[0], None)
    row = TABLES.get(dataset, {}).get(scale)
    bicubic = row[0] if row else None
    if arch == "9-5-5":
        return bicubic, row[1] if row else None
    if arch in FILTER_SIZES_SET5_X3 and (dataset, scale) == ("Set5", 3):
        return bicubic, FILTER_SIZES_SET5_X3[arch]
    if arch in FSRCNN_SET5_X3 and (dataset, scale) == ("Set5", 3):
        return bicubic, FSRCNN_SET5_X3[arch]
    return bicubic, None
