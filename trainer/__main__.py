"""`python -m trainer train|export ...` (also `torchrun --nproc_per_node N -m trainer train ...`)."""

import sys

from trainer.cli import main

sys.exit(main())
