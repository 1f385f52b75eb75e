"""Which peers may send forwarded headers (project.middleware.peer_is_trusted)."""

import pytest

from project.middleware import peer_is_trusted


@pytest.mark.parametrize(
    "peer,allowed,trusted",
    [
        ("127.0.0.2", ["127.0.0.2"], True),
        ("127.0.0.1", ["127.0.0.2"], False),
        ("10.0.3.7", ["10.0.0.0/16"], True),
        ("10.1.3.7", ["10.0.0.0/16"], False),
        ("::1", ["127.0.0.1", "::1"], True),
        ("203.0.113.9", ["*"], True),
        ("", ["127.0.0.1"], False),  # a unix-socket peer has no address: not a declared proxy
        ("not-an-address", ["127.0.0.1"], False),
    ],
)
def test_only_a_declared_proxy_address_or_network_is_trusted(peer, allowed, trusted):
    assert peer_is_trusted(peer, allowed) is trusted
