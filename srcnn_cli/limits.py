"""Limits shared by the library and the command line, importable without numpy (for a fast
``srcnn --help``)."""

DEFAULT_MAX_PIXELS = 150_000_000  # largest input accepted by default (--max-pixels)
SCALES = (2, 3, 4)  # the factors the networks are trained for
FITS = ("contain", "cover", "stretch")  # how --width and --height together are met
