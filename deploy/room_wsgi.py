"""The room's WSGI entry point: forwarded headers count only when the proxy sent them.

With ``TRUSTED_PROXY_COUNT=1`` the app takes the client's address from the last
``X-Forwarded-For`` entry and Django takes the scheme from ``X-Forwarded-Proto``, whoever sent
them. gunicorn checks the peer against ``FORWARDED_ALLOW_IPS`` for the scheme it computes itself,
but hands every header on. In the room nginx reaches gunicorn from its own loopback address
(``proxy_bind 127.0.0.2``, room.py), ``FORWARDED_ALLOW_IPS`` names that address, and here every
forwarded header of any other peer (a local process, another user of the machine) is dropped
before Django sees it: a request straight to gunicorn that forges ``X-Forwarded-For`` is seen
as coming from where it really comes from.
"""

import ipaddress
import os

from project.wsgi import application as django_application

FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_PROTOCOL",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_REAL_IP",
)


def trusted_networks(spec: str) -> list | None:
    """``FORWARDED_ALLOW_IPS`` as networks; ``None`` means every peer (``*``)."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if "*" in items:
        return None
    return [ipaddress.ip_network(item, strict=False) for item in items]


def peer_is_trusted(remote_addr: str, networks: list | None) -> bool:
    if networks is None:
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False  # a unix-socket peer or nothing: not the proxy of the room
    return any(address in network for network in networks)


def gate_forwarded_headers(app, allow: str):
    networks = trusted_networks(allow)

    def application(environ, start_response):
        if not peer_is_trusted(environ.get("REMOTE_ADDR", ""), networks):
            for name in FORWARDED_HEADERS:
                environ.pop(name, None)
        return app(environ, start_response)

    return application


application = gate_forwarded_headers(
    django_application, os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
)
