"""``python -m bench``: every benchmark (``python -m bench cold-start|backbone --help`` for one)."""

from __future__ import annotations

import sys

from bench import backbone, cold_start


def main(argv: list[str]) -> int:
    if argv and argv[0] == "backbone":
        return backbone.main(argv[1:])
    if argv and argv[0] == "cold-start":
        return cold_start.main(argv[1:])
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}: cold-start or backbone", file=sys.stderr)
        return 2
    code = cold_start.main(argv)
    return code or backbone.main([])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
