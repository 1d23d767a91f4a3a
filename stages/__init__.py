"""DVC stage entry points, run as modules from the repo root (``python -m stages.<name>``) so that
the checkout's own ``visionlab`` comes first on ``sys.path``, whatever an editable install points at."""
