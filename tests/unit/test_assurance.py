"""policy.required_assurance / assurance_met: what each action needs, table-driven at T-1/T/T+1."""

import pytest

from sessions_admin.policy import (
    Action,
    Limits,
    Requirement,
    SessionMeta,
    Shortfall,
    assurance_met,
    join_factors,
    required_assurance,
)

LIMITS = Limits(idle=900, absolute=28800, resolution=15, grace=30, elevation=600)
NOW = 1_000_000.0


def meta(**facts) -> SessionMeta:
    return SessionMeta(created_at=NOW - 1000, last_seen=NOW, uid="1", **facts)


@pytest.mark.parametrize(
    ("staff", "required", "expected"),
    [
        (True, True, Requirement(elevated=True, second_factor=True)),
        (True, False, Requirement(elevated=True)),
        (False, True, Requirement(elevated=True)),
    ],
)
def test_the_console_needs_a_second_factor_for_staff_where_required(staff, required, expected):
    assert (
        required_assurance(
            Action.CONSOLE, user_is_staff=staff, require_staff_second_factor=required
        )
        == expected
    )


def test_everything_else_gated_needs_a_recent_authentication():
    assert required_assurance(
        "recent_auth", user_is_staff=True, require_staff_second_factor=True
    ) == Requirement(recent_auth=True)


CONSOLE = Requirement(elevated=True, second_factor=True)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, Shortfall.AUTHENTICATION),
        (
            {"elevated_until": NOW - 1, "factors": "password,totp", "factor_at": NOW},
            Shortfall.AUTHENTICATION,
        ),
        ({"elevated_until": NOW + 60, "factors": "password"}, Shortfall.SECOND_FACTOR),
        # a second factor counts for the elevation window: T valid, T+1 not
        (
            {"elevated_until": NOW + 60, "factors": "password,totp", "factor_at": NOW - 599},
            Shortfall.NONE,
        ),
        (
            {"elevated_until": NOW + 60, "factors": "password,totp", "factor_at": NOW - 600},
            Shortfall.NONE,
        ),
        (
            {"elevated_until": NOW + 60, "factors": "password,totp", "factor_at": NOW - 601},
            Shortfall.SECOND_FACTOR,
        ),
        ({"elevated_until": NOW + 60, "factors": "passkey", "factor_at": NOW}, Shortfall.NONE),
        ({"elevated_until": NOW + 60, "factors": "recovery", "factor_at": NOW}, Shortfall.NONE),
        # a timestamp without a second factor named (a remembered sign-in has none) is not one
        ({"elevated_until": NOW + 60, "factors": "", "factor_at": NOW}, Shortfall.SECOND_FACTOR),
        (
            {"elevated_until": NOW + 60, "factors": "password", "factor_at": NOW},
            Shortfall.SECOND_FACTOR,
        ),
    ],
)
def test_assurance_met(facts, expected):
    assert assurance_met(meta(**facts), CONSOLE, LIMITS, NOW) is expected


def test_no_session_meets_nothing_but_the_empty_requirement():
    assert assurance_met(None, CONSOLE, LIMITS, NOW) is Shortfall.AUTHENTICATION
    assert assurance_met(None, Requirement(), LIMITS, NOW) is Shortfall.NONE


@pytest.mark.parametrize(
    ("auth_at", "expected"), [(NOW - 600, Shortfall.NONE), (NOW - 601, Shortfall.AUTHENTICATION)]
)
def test_recent_authentication(auth_at, expected):
    assert (
        assurance_met(meta(auth_at=auth_at), Requirement(recent_auth=True), LIMITS, NOW) is expected
    )


def test_factors_are_sorted_and_unique():
    assert join_factors(["totp", "password", "totp", ""]) == "password,totp"
