from django import template

from second_factor.views import demo_totp_secret as _demo_totp_secret

register = template.Library()


@register.simple_tag
def demo_totp_secret() -> str | None:
    """carol's authenticator key, in demo mode only (None otherwise)."""
    return _demo_totp_secret()
