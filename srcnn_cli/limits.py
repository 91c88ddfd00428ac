"""Limits shared by the library and the command line, importable without numpy (for a fast
``srcnn --help``)."""

from .machine import default_max_pixels

DEFAULT_MAX_PIXELS = default_max_pixels()  # largest input accepted by default (--max-pixels): from memory
SCALES = (2, 3, 4)  # the factors the networks are trained for
FITS = ("contain", "cover", "stretch")  # how --width and --height together are met
RUNTIMES = ("auto", "onnxruntime", "openvino")  # --runtime: who runs the network
