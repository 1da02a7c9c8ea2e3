"""FC functions: one folder per function, each a thin ``handler.py`` over ``shared``."""
