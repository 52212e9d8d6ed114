"""Command-line entry points (kept import-free: the notify hook must start fast)."""
