"""`python -m bench ...` is `ftrag ...` (for launchers such as `accelerate launch -m bench`)."""
import sys

from bench.cli import main

sys.exit(main())
