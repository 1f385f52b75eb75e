"""``python -m bench.overhead_process OUT ROUNDS PER_ROUND``: one process's measurement of the full
page (bench.overhead.measure), written to OUT as JSON. Started by bench.overhead.run with the
bench's environment (bench.env), so it uses the same Redis and database."""

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    out, rounds, per_round = Path(argv[0]), int(argv[1]), int(argv[2])
    import django

    django.setup()
    import redis

    from . import counting, overhead
    from .__main__ import _make_user

    counting.install()
    redis_client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        result = overhead.measure(
            make_user=_make_user, redis_client=redis_client, rounds=rounds, per_round=per_round
        )
    finally:
        redis_client.close()
    out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
