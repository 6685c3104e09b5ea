"""Entry script of the frozen `texgen-gui` executable (windowed): the desktop app.

A frozen app has no Python to run `-m` with: `sys.executable` is this executable. The GUI's
training panel starts the `texgen` console executable beside it (a windowed executable may
have no standard streams on Windows; packaging/README.md). `texgen-gui -m texgen ARGS` still
runs the command line with ARGS here instead of opening a window, for scripts that only know
the app's executable.
"""

import sys

if __name__ == "__main__":
    if sys.argv[1:3] == ["-m", "texgen"]:
        from texgen.cli import main as cli_main

        sys.exit(cli_main(sys.argv[3:]))
    from texgen.gui import main

    sys.exit(main(sys.argv[1:]))
