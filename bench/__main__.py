"""``python -m bench``: run every registered benchmark; ``python -m bench NAME [ARGS...]``: one.

``python -m bench --list`` names them.  Arguments after NAME go to that benchmark
(``python -m bench core --help``).  A benchmark is any ``bench/<name>.py`` with ``TITLE`` and
``main(argv) -> int`` (see ``bench/__init__.py``).
"""

import sys
import time
import traceback

from . import load, names


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "--list"):
        print(__doc__.strip())
        print()
        for name in names():
            try:
                title = getattr(load(name), "TITLE", "")
            except Exception as exc:  # noqa: BLE001 - listed, not fatal
                title = f"(cannot load: {exc})"
            print(f"  {name:8} {title}")
        return 0
    if argv:
        try:
            module = load(argv[0])
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        return module.main(argv[1:]) or 0
    status = 0
    for name in names():
        started = time.perf_counter()
        try:
            module = load(name)
            print(f"== {name}: {getattr(module, 'TITLE', '')}", flush=True)
            status = module.main([]) or status
        except Exception:  # noqa: BLE001 - report, go on with the other benchmarks
            traceback.print_exc()
            status = 1
        print(f"== {name} took {time.perf_counter() - started:.1f} s\n", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
