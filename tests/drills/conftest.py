"""The drill tests need no fixtures of their own: their helpers (the library's scenarios as
dicts, their healthy twins) are in tests/drills/helpers.py."""
