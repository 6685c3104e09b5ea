import sys

from texgen.cli import main

sys.exit(main())
