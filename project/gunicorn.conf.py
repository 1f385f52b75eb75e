"""gunicorn settings for `make demo` and the e2e suite. Every value can be overridden by env.

The embedded Redis (when REDIS_URL and REDIS_SENTINELS are unset) starts once in the master before
workers fork and stops when the master exits, so Ctrl-C leaves no redis-server behind.
"""

import multiprocessing
import os
from pathlib import Path

wsgi_app = "project.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# Forwarded headers (X-Forwarded-Proto/-Ssl/-Protocol, SCRIPT_NAME, PATH_INFO) are believed only
# from a declared proxy. With TRUSTED_PROXY_COUNT=0 (the default) nobody may set them, whatever
# FORWARDED_ALLOW_IPS says: otherwise any client on an allowed address (loopback by default) could
# claim HTTPS, skip SECURE_SSL_REDIRECT and be sent HSTS. Django reads the same variable
# (SECURE_PROXY_SSL_HEADER in project/settings.py), so the two layers always agree.
if int(os.environ.get("TRUSTED_PROXY_COUNT") or 0) > 0:
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
else:
    forwarded_allow_ips = ""
    secure_scheme_headers = {}
    forwarder_headers = ""
certfile = os.environ.get("GUNICORN_CERTFILE") or None
keyfile = os.environ.get("GUNICORN_KEYFILE") or None

_embedded = None


def on_starting(server):
    global _embedded
    from project.embedded_redis import ensure_for_environment

    var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    _embedded = ensure_for_environment(var_dir / "redis.sock")
    if _embedded is not None:
        server.log.info("embedded redis-server on %s", _embedded.url)


def on_exit(server):
    if _embedded is not None:
        _embedded.stop()


# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl), which
# several instances (scale-out, the e2e profiles) would fight over; this app does not use it.
control_socket_disable = True
