"""Client addresses: X-Forwarded-For is believed only from trusted proxies, and only as far as they vouch."""

from __future__ import annotations

import ipaddress

import pytest

from server.lib.network import resolve_client_ip

PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        # No trusted proxies configured: the header is ignored, whoever sends it.
        ("203.0.113.9", ["198.51.100.1"], (), "203.0.113.9"),
        # A peer that is not our proxy cannot claim another address.
        ("203.0.113.9", ["198.51.100.1"], PROXIES, "203.0.113.9"),
        # Our proxy tells us who connected to it.
        ("10.0.0.2", ["198.51.100.1"], PROXIES, "198.51.100.1"),
        # A client forging a hop left of the real one gets its real address, not the forged one.
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1"], PROXIES, "198.51.100.1"),
        # Several of our proxies in a row are skipped.
        ("10.0.0.2", ["198.51.100.1, 10.0.0.7"], PROXIES, "198.51.100.1"),
        # Garbage in the chain stops the walk at the last address we can vouch for.
        ("10.0.0.2", ["198.51.100.1, not-an-ip"], PROXIES, "10.0.0.2"),
        # IPv6 works the same.
        ("10.0.0.2", ["2001:db8::1"], PROXIES, "2001:db8::1"),
    ],
)
def test_resolve_client_ip(
    peer: str, forwarded: list[str], proxies: tuple[ipaddress.IPv4Network, ...], expected: str
) -> None:
    assert resolve_client_ip(peer, forwarded, proxies) == expected
