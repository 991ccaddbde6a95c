"""Whether a pachd is `capstone serve` on this machine, whose workers read this machine's files.

The Pachyderm backend refuses TSV lines naming local image paths because a cluster's workers
cannot read them; `capstone serve` runs its jobs in its own process, so when it is the server,
dialled on loopback, local paths work as on the embedded backend.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

SERVE_MARK = "capstone"
"""GetVersion's `additional` from `capstone serve` (pachd's own builds put a pre-release tag
there, or nothing)."""


def is_loopback(address: str) -> bool:
    """Whether `address` (host:port or scheme://host:port) names this machine's loopback."""
    host = urlsplit(address if "://" in address else f"grpc://{address}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serves_this_machine(address: str, additional: str) -> bool:
    """Whether the server at `address`, whose GetVersion said `additional`, is `capstone serve`
    on this machine. A loopback address alone is not enough: `pachctl port-forward` puts a
    remote cluster there."""
    return additional == SERVE_MARK and is_loopback(address)
