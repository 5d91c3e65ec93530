#!/usr/bin/env python
"""Benchmark of the work-order outbox (see bot/workorders/bench.py).

.venv/bin/python scripts/bench_outbox.py --backend sqlite --outage 60
.venv/bin/python scripts/bench_outbox.py --backend redis --json var/bench-outbox.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.workorders.bench import main

if __name__ == "__main__":
    sys.exit(main())
