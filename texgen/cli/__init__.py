"""The headless command line: `texgen generate | info | models | presets | train | export | gui`.

Each verb lives in its own module and only turns arguments into one call of the runtime (or,
for `train` and `export`, the trainer, imported when used so that generating never loads
torch). A user mistake prints one `error:` line naming the fix and exits 2; an interrupted
run exits 130; everything else that is not full success exits 1.
"""

from __future__ import annotations

import argparse
import sys

from texgen import __version__
from texgen.errors import EXIT_INTERRUPTED, INTERRUPTED, TexgenError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _forward(verb: str):
    def run(rest: list[str]) -> int:
        from texgen.cli import forward  # noqa: PLC0415

        return getattr(forward, f"run_{verb}")(rest)

    return run


FORWARDED = {verb: _forward(verb) for verb in ("train", "export", "gui")}


def build_parser() -> argparse.ArgumentParser:
    from texgen.cli import generate, info, models, forward  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="texgen",
        description="Texture and heightmap generator for game developers.",
        epilog="Run `texgen VERB --help` for a verb's options.",
    )
    parser.add_argument("--version", action="version", version=f"texgen {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    generate.add_parser(verbs)
    info.add_parser(verbs)
    models.add_parser(verbs)
    models.add_presets_parser(verbs)
    forward.add_parsers(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in FORWARDED:
            # The trainer and the GUI parse their own arguments (and their own --help).
            return FORWARDED[argv[0]](argv[1:])
        args = build_parser().parse_args(argv)
        return args.run(args)
    except TexgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_FAILED
