"""A deliberately slow "database": what the cache is there to spare.

``calls`` counts the queries this process has made, so the fleet simulation can report how many
requests reached the database.
"""

from __future__ import annotations

import os
import time
from typing import Any

#: Seconds one query takes; ``EXAMPLE_DB_DELAY`` overrides it.
DELAY_SECONDS = float(os.environ.get("EXAMPLE_DB_DELAY", "0.02"))

calls = 0


def fetch_product(product_id: int) -> dict[str, Any]:
    """One product, after a round trip to the slow database."""
    global calls
    calls += 1
    time.sleep(DELAY_SECONDS)
    return {
        "id": product_id,
        "name": f"Product {product_id}",
        "price_cents": 100 + (product_id * 37) % 9_900,
    }
