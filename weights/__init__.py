"""Bundled SRCNN weights (ONNX) and their manifest; installed as the package srcnn_cli.weights."""
