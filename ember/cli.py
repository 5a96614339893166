"""The ``ember`` command: ``ember demo`` (a first model), ``ember info`` (versions, devices)."""

from __future__ import annotations

import argparse
import platform
import sys


def _info() -> int:
    import ember
    from ember import backend

    print(f"ember {ember.__version__}  (Python {platform.python_version()})")
    for name, ver in backend.versions().items():
        print(f"  {name:6s} {ver or 'not installed'}")
    print(
        f"  cuda   {'available, ' + str(backend.device_count()) + ' device(s)' if backend.cuda_available() else 'not available'}"
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="ember", description="ember: deep learning in readable Python"
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="fit a tiny network with ember's autodiff and print its loss")
    sub.add_parser("info", help="print versions, backends and devices")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ember import demo

        demo.main()
        return 0
    if args.command == "info":
        return _info()
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
