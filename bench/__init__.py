"""Benchmarks (not tests: nothing here asserts on time). ``python -m bench`` runs them all.

* overhead   -- cost of the session layer per authenticated GET, in process, against stock
                Django backends, with Redis round trips counted per request;
* listing    -- listing and ending one user's sessions with 10 .. 1,000,000 sessions in Redis;
* throughput -- gunicorn over loopback HTTP, this project vs the same app on stock cache sessions;
* signin     -- Argon2id cost at the project's parameters vs Django's defaults.

Results go to bench/results/latest.json and latest.md.
"""
