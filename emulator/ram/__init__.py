"""RAM (2015-05-01): roles and their policies (read calls)."""
