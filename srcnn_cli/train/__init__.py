"""Training in PyTorch (the ``train`` extra). Imported only by the CLI's train/export commands."""
