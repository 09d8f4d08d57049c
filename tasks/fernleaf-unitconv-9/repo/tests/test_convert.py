import json

import pytest

from unitconv import IncompatibleUnits, UnknownUnit, convert, default_registry
from unitconv.registry import DATA_FILE, Registry


def test_metric_length():
    assert convert(5, "km", "m") == pytest.approx(5000)
    assert convert(250, "mm", "cm") == pytest.approx(25)


def test_imperial_length():
    assert convert(1, "ft", "in") == pytest.approx(12)
    assert convert(3, "feet", "yd") == pytest.approx(1)


def test_mass():
    assert convert(1, "lb", "kg") == pytest.approx(0.45359237)
    assert convert(16, "oz", "lb") == pytest.approx(1)
    assert convert(1, "st", "lb") == pytest.approx(14)


def test_volume():
    assert convert(1, "gallon", "cups") == pytest.approx(16)
    assert convert(8, "fl_oz", "cup") == pytest.approx(1)


@pytest.mark.parametrize(
    "value, src, dst, expected",
    [(100, "C", "F", 212), (32, "F", "C", 0), (0, "K", "C", -273.15), (-40, "celsius", "fahrenheit", -40)],
)
def test_temperature(value, src, dst, expected):
    assert convert(value, src, dst) == pytest.approx(expected)


def test_case_insensitive_fallback():
    assert convert(1, "KM", "m") == pytest.approx(1000)


def test_unknown_unit():
    with pytest.raises(UnknownUnit, match="furlong"):
        convert(1, "furlong", "m")


def test_incompatible_units():
    with pytest.raises(IncompatibleUnits):
        convert(1, "kg", "m")


def test_every_unit_round_trips():
    reg = default_registry()
    for unit in reg.units():
        base = reg.base_units[unit.dimension]
        assert reg.convert(reg.convert(3.5, unit.symbol, base), base, unit.symbol) == pytest.approx(3.5)


def test_duplicate_names_rejected():
    data = json.loads(DATA_FILE.read_text())
    data["mass"]["units"]["kg"]["aliases"].append("g")
    with pytest.raises(ValueError, match="duplicate"):
        Registry(data)
