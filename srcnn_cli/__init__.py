"""srcnn-cli: SRCNN super-resolution (Dong et al., TPAMI 2016) as a library and a command.

from srcnn_cli import Upscaler
Upscaler(model="9-5-5", scale=3).upscale(image)
"""

__version__ = "0.3.0"

__all__ = ["Upscaler", "__version__"]


def __getattr__(name):
    # Import lazily so `import srcnn_cli` (e.g. for --version) does not load onnxruntime.
    if name == "Upscaler":
        from .pipeline import Upscaler

        return Upscaler
    raise AttributeError(name)
