import argparse
import sys

from .registry import IncompatibleUnits, UnknownUnit, convert


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unitconv", description="Convert a value between units.")
    parser.add_argument("value", type=float)
    parser.add_argument("from_unit")
    parser.add_argument("to_unit")
    parser.add_argument("--digits", type=int, default=6, help="significant digits (default 6)")
    args = parser.parse_args(argv)
    try:
        result = convert(args.value, args.from_unit, args.to_unit)
    except (UnknownUnit, IncompatibleUnits) as exc:
        print(f"unitconv: {exc}", file=sys.stderr)
        return 2
    print(f"{result:.{args.digits}g} {args.to_unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
