"""What `eclor edge scan` takes from the command line: units, line settings, endpoints."""

from __future__ import annotations

import pytest

from edge.scan.command import ScanOptions, UsageError, line_settings, plan_scan
from edge.scan.options import (
    TCP_UNITS,
    LineSettings,
    bus_name,
    factory_settings,
    parse_bauds,
    parse_endpoint,
    parse_parities,
    parse_stopbits,
    parse_units,
)
from edge.scan.sweep import shipped_profiles

PROFILES = shipped_profiles()


def test_units_ranges_and_lists_in_the_order_given() -> None:
    assert parse_units("1-3, 7,2") == [1, 2, 3, 7]
    assert parse_units("1-247") == list(range(1, 248))
    assert parse_units("0,255", TCP_UNITS) == [0, 255]


@pytest.mark.parametrize("text", ["0", "248", "5-3", "x", "1-", ""])
def test_bad_serial_units_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match="unit"):
        parse_units(text)


def test_line_setting_lists() -> None:
    assert parse_bauds("9600,19200") == [9600, 19200]
    assert parse_parities("n, e") == ["N", "E"]
    assert parse_stopbits("1,2") == [1, 2]
    with pytest.raises(ValueError, match="baud rate '9601'"):
        parse_bauds("9601")
    with pytest.raises(ValueError, match="parity 'X'"):
        parse_parities("X")
    with pytest.raises(ValueError, match="stop bits '3'"):
        parse_stopbits("3")


def test_endpoints() -> None:
    assert parse_endpoint("10.0.0.5") == ("10.0.0.5", 502)
    assert parse_endpoint("gw.local:1502") == ("gw.local", 1502)
    assert parse_endpoint("[fe80::1]:5020") == ("fe80::1", 5020)
    assert parse_endpoint("[::1]") == ("::1", 502)
    for bad in ("10.0.0.5:0", "host:port", "a:b:c"):
        with pytest.raises(ValueError, match=r"port|host"):
            parse_endpoint(bad)


def test_factory_settings_are_the_profiles_most_common_first() -> None:
    assert factory_settings(PROFILES) == [LineSettings(9600, "N", 1), LineSettings(19200, "E", 1)]
    assert str(LineSettings(19200, "E", 1)) == "19200 8E1"


def test_settings_asked_for_combine_with_the_factory_values_left_out() -> None:
    assert line_settings(ScanOptions(port="/dev/ttyUSB0"), PROFILES) == factory_settings(PROFILES)
    assert line_settings(ScanOptions(port="p", baud="38400"), PROFILES) == [
        LineSettings(38400, "N"),
        LineSettings(38400, "E"),
    ]
    assert line_settings(ScanOptions(port="p", baud="9600,19200", parity="N"), PROFILES) == [
        LineSettings(9600, "N"),
        LineSettings(19200, "N"),
    ]
    assert line_settings(ScanOptions(port="p", stopbits="2"), PROFILES) == [
        LineSettings(9600, "N", 2),
        LineSettings(9600, "E", 2),
        LineSettings(19200, "N", 2),
        LineSettings(19200, "E", 2),
    ]


@pytest.mark.parametrize(
    "options",
    [
        ScanOptions(),
        ScanOptions(port="/dev/ttyUSB0", tcp=["10.0.0.5"]),
        ScanOptions(tcp=["10.0.0.5"], baud="9600"),
        ScanOptions(tcp=["10.0.0.5"], every_setting=True),
    ],
)
def test_a_scan_needs_one_kind_of_bus_and_its_own_options(options: ScanOptions) -> None:
    with pytest.raises(UsageError):
        plan_scan(options, PROFILES)


def test_bus_names_are_valid_config_names() -> None:
    assert bus_name("/dev/ttyUSB0") == "ttyusb0"
    assert bus_name("10.0.0.5-502") == "10-0-0-5-502"
    assert bus_name("/dev/serial/by-id/usb-FTDI_FT232R-if00-port0") == "usb-ftdi_ft232r-if00-port0"
    assert bus_name("///") == "bus"
