"""What the app asks of a run: the `Session` protocol (protocol.py), and its two implementations,
in-process (thread.py) and on a detached trainer process (detached.py)."""
