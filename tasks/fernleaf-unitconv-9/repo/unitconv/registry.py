"""Unit registry loaded from ``data/units.json``."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

DATA_FILE = Path(__file__).with_name("data") / "units.json"


class UnknownUnit(KeyError):
    def __str__(self):
        return f"unknown unit: {self.args[0]!r}"


class IncompatibleUnits(ValueError):
    pass


@dataclass(frozen=True)
class Unit:
    symbol: str
    dimension: str
    factor: float
    offset: float = 0.0
    aliases: tuple = field(default=())

    def to_base(self, value: float) -> float:
        return value * self.factor + self.offset

    def from_base(self, value: float) -> float:
        return (value - self.offset) / self.factor


class Registry:
    def __init__(self, definitions: Dict[str, dict]):
        self._units: Dict[str, Unit] = {}
        self._lookup: Dict[str, Unit] = {}
        self.base_units: Dict[str, str] = {}
        for dimension, spec in definitions.items():
            self.base_units[dimension] = spec["base"]
            for symbol, u in spec["units"].items():
                unit = Unit(
                    symbol=symbol,
                    dimension=dimension,
                    factor=float(u["factor"]),
                    offset=float(u.get("offset", 0.0)),
                    aliases=tuple(u.get("aliases", ())),
                )
                if unit.factor <= 0:
                    raise ValueError(f"{symbol}: factor must be positive")
                self._units[symbol] = unit
                for name in (symbol, *unit.aliases):
                    if name in self._lookup:
                        raise ValueError(f"duplicate unit name {name!r}")
                    self._lookup[name] = unit
            if spec["base"] not in spec["units"]:
                raise ValueError(f"{dimension}: base unit {spec['base']!r} is not defined")

    @classmethod
    def from_file(cls, path: Path = DATA_FILE) -> "Registry":
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def get(self, name: str) -> Unit:
        unit = self._lookup.get(name) or self._lookup.get(name.lower())
        if unit is None:
            raise UnknownUnit(name)
        return unit

    def units(self, dimension: Optional[str] = None) -> List[Unit]:
        return [u for u in self._units.values() if dimension in (None, u.dimension)]

    def convert(self, value: float, from_unit: str, to_unit: str) -> float:
        src, dst = self.get(from_unit), self.get(to_unit)
        if src.dimension != dst.dimension:
            raise IncompatibleUnits(
                f"cannot convert {src.dimension} ({from_unit}) to {dst.dimension} ({to_unit})"
            )
        return dst.from_base(src.to_base(value))


_default: Optional[Registry] = None


def default_registry() -> Registry:
    global _default
    if _default is None:
        _default = Registry.from_file()
    return _default


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` using the bundled units."""
    return default_registry().convert(value, from_unit, to_unit)
