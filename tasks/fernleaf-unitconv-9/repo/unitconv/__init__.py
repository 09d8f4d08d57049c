"""Convert between units of length, mass, volume and temperature."""

from .registry import IncompatibleUnits, Registry, Unit, UnknownUnit, convert, default_registry

__all__ = [
    "IncompatibleUnits",
    "Registry",
    "Unit",
    "UnknownUnit",
    "convert",
    "default_registry",
]
__version__ = "0.9.0"
