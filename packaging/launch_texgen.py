"""Entry script of the frozen `texgen` executable (console): the command line, as `texgen`.

PyInstaller needs a script, not a `module:function` entry point; this is `texgen.cli:main`.
`texgen train ...` (what the GUI's training panel runs) reaches the bundled trainer from here.
"""

import sys

from texgen.cli import main

if __name__ == "__main__":
    sys.exit(main())
