import sys

from texgen.gui import main

sys.exit(main())
