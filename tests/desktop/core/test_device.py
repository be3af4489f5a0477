"""Device details: what the preview shows is what is sent, and the server's schema accepts it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
import pytest

from desktop.core.device import DeviceDetails, _clean, _cpu_name, collect_device_details

if TYPE_CHECKING:
    from pathlib import Path


def test_this_computer_yields_plausible_values() -> None:
    details = collect_device_details("online")

    assert details.os
    assert details.ram_gb is not None
    assert details.ram_gb > 0
    assert details.free_disk_gb is not None
    assert details.network == "online"


def test_the_payload_omits_unknowns_and_matches_the_preview() -> None:
    details = DeviceDetails(os="Windows", os_version="11 23H2", ram_gb=16.0, network="limited")

    assert details.as_payload() == {"os": "Windows", "os_version": "11 23H2", "ram_gb": 16.0, "network": "limited"}
    assert details.preview() == [
        ("Operating system", "Windows"),
        ("Version", "11 23H2"),
        ("Memory", "16 GB"),
        ("Network", "limited"),
    ]


def test_the_server_schema_accepts_what_we_collect() -> None:
    from server.domain.tickets import schemas

    payload = collect_device_details("offline").as_payload()

    accepted = msgspec.json.decode(msgspec.json.encode(payload), type=schemas.Device)
    assert accepted.os == payload["os"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("  Intel\x00 Core\n i7 ", "Intel Core i7"), ("x" * 300, "x" * 200), ("\x01\x02", None), (None, None)],
)
def test_texts_are_one_line_short_and_free_of_control_characters(raw: str | None, clean: str | None) -> None:
    assert _clean(raw) == clean


def test_cpu_name_comes_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD Ryzen 7 7840U\nflags\t: fpu\n")

    assert _cpu_name(cpuinfo) == "AMD Ryzen 7 7840U"


def test_cpu_name_falls_back_when_cpuinfo_is_missing(tmp_path: Path) -> None:
    assert _cpu_name(tmp_path / "missing")  # platform.processor() or machine(), never an exception
