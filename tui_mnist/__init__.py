"""tui-mnist: watch a NumPy neural network learn MNIST, in a terminal."""

__version__ = "0.1.0"
