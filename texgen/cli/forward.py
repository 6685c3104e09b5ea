"""Verbs served by other rooms: `train` and `export` (the trainer) and `gui` (Qt).

They are imported only when used, so `texgen generate` never loads torch or Qt.
"""

from __future__ import annotations

import argparse

from texgen.errors import TexgenError


def _trainer(verb: str):
    try:
        from trainer import cli as trainer_cli  # noqa: PLC0415 (no torch yet: it checks for it after parsing)
    except ImportError:  # a build of texgen without its trainer package
        raise TexgenError(
            f"`texgen {verb}` needs texgen's trainer package, which this install lacks",
            'reinstall texgen from a source checkout: pip install -e ".[train]"',
        ) from None
    return trainer_cli


def run_train(rest: list[str]) -> int:
    return _trainer("train").train_main(rest)


def run_export(rest: list[str]) -> int:
    return _trainer("export").export_main(rest)


def run_gui(rest: list[str]) -> int:
    from texgen.gui import main as gui_main  # noqa: PLC0415

    return gui_main(rest)


def add_parsers(verbs: argparse._SubParsersAction) -> None:
    # Listed here for `texgen --help`; `texgen.cli.main` hands their arguments over unparsed.
    for name, text in (
        ("train", "train a generator on CIFAR-100 or an image folder (see `texgen train --help`)"),
        ("export", "export a training run or checkpoint to a texgen ONNX generator"),
        ("gui", "open the desktop app"),
    ):
        p = verbs.add_parser(name, help=text, description=text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
