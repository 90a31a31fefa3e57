"""A run as it happens: the events a training session reports, and the driver that steps a
Trainer on a worker thread between the UI's commands. Below runs/ and session/, above the engine."""
