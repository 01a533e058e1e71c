"""The peer of the simulator benchmark: the capstone's generator as the
original wrote it in Python (random choices, json.dumps per event, gzip),
reduced to the part that generates and compresses. Prints events per second."""
import gzip
import io
import json
import random
import sys
import time
import uuid
from datetime import datetime, timezone

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
CATEGORIES = ["electronics", "clothing", "home", "books", "sports", "toys"]
TYPES = ["page_view"] * 50 + ["add_to_cart"] * 20 + ["remove_from_cart"] * 10 + ["purchase"] * 10 + ["search"] * 10

random.seed(1)
start = time.perf_counter()
buf = io.BytesIO()
with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1) as gz:
    for i in range(N):
        cat = random.choice(CATEGORIES)
        t = random.choice(TYPES)
        e = {
            "event_id": str(uuid.uuid4()),
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "event_type": t,
            "user_id": f"u_{random.randint(10000, 99999)}",
            "session_id": str(uuid.uuid4())[:8],
            "product_id": f"p_{(CATEGORIES.index(cat) + 1) * 1000 + random.randint(1, 5)}",
            "category": cat,
        }
        if t in ("add_to_cart", "remove_from_cart", "purchase"):
            e["quantity"] = random.randint(1, 5)
            e["price"] = round(random.uniform(9.99, 299.99), 2)
        if t == "search":
            e["search_query"] = random.choice(["shoes", "phone", "lamp"])
        gz.write((json.dumps(e) + "\n").encode())
elapsed = time.perf_counter() - start
print(f"{N / elapsed:.0f}")
