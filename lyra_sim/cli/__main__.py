"""``python -m lyra_sim.cli``: the ``lyra-sim`` command (also how ``torchrun -m lyra_sim.cli train`` starts)."""

import sys

from lyra_sim.cli import main

sys.exit(main())
