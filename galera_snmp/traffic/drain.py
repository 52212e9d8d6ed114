"""Drain: take a node out of client traffic without touching Galera.

The drain file is the whole state (so it survives an agent restart); the health rule reads it
through the probe. The agent is woken so keepalived and HAProxy see it at once.
"""

from __future__ import annotations

import time

from ..config import Config
from ..safeio import poke, write_atomically


def _wake_agent(config: Config) -> None:
    poke(config.agent.wake_socket, b'{"drain": "changed"}')  # no agent: it reads the file when it starts


def drain(config: Config, reason: str) -> None:
    config.drain_file.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_atomically(config.drain_file, f"{stamp} {reason}\n")
    _wake_agent(config)


def undrain(config: Config) -> bool:
    """Remove the drain; False when the node was not drained."""
    try:
        config.drain_file.unlink()
    except FileNotFoundError:
        return False
    _wake_agent(config)
    return True
