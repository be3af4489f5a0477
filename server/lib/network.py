"""Who is on the other end: the client address, believing ``X-Forwarded-For`` only from trusted proxies."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from server.settings import ProxyNetwork

__all__ = ["is_trusted", "resolve_client_ip"]


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(address: str, proxies: Sequence[ProxyNetwork]) -> bool:
    """Whether ``address`` is one of our proxies (``TECHPAL_TRUSTED_PROXIES``)."""
    ip = _parse(address)
    return ip is not None and any(ip in network for network in proxies)


def resolve_client_ip(peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[ProxyNetwork]) -> str:
    """Return the address of the real client.

    ``X-Forwarded-For`` is a list each proxy appends to, so anything left of the last trusted hop may be forged.
    Walk it from the right while the hop is one of our proxies; the first other address is the client.
    """
    client = peer or "unknown"
    if not proxies or not is_trusted(client, proxies):
        return client
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if _parse(hop) is None:
            break  # garbage in the chain: stop at the last address we could vouch for
        client = hop
        if not is_trusted(hop, proxies):
            break
    return client
