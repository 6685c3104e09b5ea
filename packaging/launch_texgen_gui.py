"""Entry script of the frozen `texgen-gui` executable (windowed): the desktop app.

A frozen app has no Python to run `-m` with: `sys.executable` is this executable. The GUI's
training panel starts `sys.executable -m texgen train ...`, so `texgen-gui -m texgen ARGS`
runs the command line with ARGS here instead of opening a window. On Linux and macOS that is
enough for training from the frozen app; on Windows a windowed executable may have no standard
streams, so the GUI should start the `texgen` console executable beside it (packaging/README.md).
"""

import sys

if __name__ == "__main__":
    if sys.argv[1:3] == ["-m", "texgen"]:
        from texgen.cli import main as cli_main

        sys.exit(cli_main(sys.argv[3:]))
    from texgen.gui import main

    sys.exit(main(sys.argv[1:]))
