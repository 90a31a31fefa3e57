"""The NumPy engine: data, network, training loop, metrics and model files.

It never imports a UI package, so it can be read, tested and timed without a terminal.
"""
