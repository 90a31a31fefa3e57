"""Data shipped inside the package (installed as `tui_mnist.assets`)."""
