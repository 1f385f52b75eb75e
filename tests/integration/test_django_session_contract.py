"""Django's own session backend tests, run unchanged against this store on the real Redis.

As Django does for each of its backends (``class CacheSessionTests(SessionTestsMixin,
SimpleTestCase): backend = CacheSession``), ``SessionTestsMixin`` comes from the test suite of
the installed Django version, fetched from its sdist at test time (tests/integration/
django_sdist.py, which also documents the one import shim). ``SimpleTestCase``, as for Django's
cache backend: the store must not touch the database, and the test fails if it does.

Deviations from the mixin, each an override below that names it; nothing else is changed:

1. **The stricter key format.** Django accepts any session key of 8 characters or more; this
   store accepts only keys of the form it makes (32 of ``[a-z0-9]``), so a key it did not make
   is never looked up. ``test_session_key_valid_string_saved`` is replaced.
2. **The cookie never outlives the browser.** The project's cookie contract is a
   browser-session cookie (no ``Expires``/``Max-Age``), with ``SESSION_EXPIRE_AT_BROWSER_CLOSE``
   on. Django makes the cookie persistent once ``set_expiry(n)`` is called; this store honours
   ``set_expiry()`` on the server, as a cap (policy.app_cap), and keeps the cookie a
   browser-session cookie. ``test_get_expire_at_browser_close`` (and its async twin) keep
   Django's assertions with the setting off and assert the contract with it on.

Everything about ``set_expiry()`` itself (``test_custom_expiry_*``, ``test_default_expiry``,
``test_actual_expiry``) runs unchanged.
"""

from django.test import SimpleTestCase, override_settings

from sessions_admin.store import SessionStore

from .django_sdist import Unavailable, session_tests_mixin

try:
    SessionTestsMixin = session_tests_mixin()
except Unavailable as exc:
    _unavailable = str(exc)

    class SessionTestsMixin:
        """Offline: every test here fails and says why, instead of a silent skip."""

        def setUp(self):
            self.fail(_unavailable)

        def test_django_session_tests_mixin_is_available(self):
            """Stands for the mixin's tests, which could not be loaded."""


class RedisStoreTests(SessionTestsMixin, SimpleTestCase):
    backend = SessionStore

    # Deviation 1 (the stricter key format): replaces Django's assertion that any key of 8+
    # characters is accepted.
    def test_session_key_valid_string_saved(self):
        for key in ("12345678", "A" * 32, "a" * 31, "a" * 33, "a" * 31 + "-"):
            self.session._session_key = key
            self.assertIsNone(self.session.session_key)
        key = self.session._get_new_session_key()
        self.session._session_key = key
        self.assertEqual(self.session.session_key, key)

    # Deviation 2 (the cookie never outlives the browser): with SESSION_EXPIRE_AT_BROWSER_CLOSE
    # on, set_expiry(10) leaves it a browser-session cookie; with it off, Django's behaviour.
    def test_get_expire_at_browser_close(self):
        with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=False):  # as Django's test
            self.session.set_expiry(10)
            self.assertIs(self.session.get_expire_at_browser_close(), False)
            self.session.set_expiry(0)
            self.assertIs(self.session.get_expire_at_browser_close(), True)
            self.session.set_expiry(None)
            self.assertIs(self.session.get_expire_at_browser_close(), False)
        with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=True):
            for value in (10, 0, None):
                self.session.set_expiry(value)
                self.assertIs(self.session.get_expire_at_browser_close(), True)

    # Deviation 2, async twin.
    async def test_get_expire_at_browser_close_async(self):
        with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=False):  # as Django's test
            await self.session.aset_expiry(10)
            self.assertIs(await self.session.aget_expire_at_browser_close(), False)
            await self.session.aset_expiry(0)
            self.assertIs(await self.session.aget_expire_at_browser_close(), True)
            await self.session.aset_expiry(None)
            self.assertIs(await self.session.aget_expire_at_browser_close(), False)
        with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=True):
            for value in (10, 0, None):
                await self.session.aset_expiry(value)
                self.assertIs(await self.session.aget_expire_at_browser_close(), True)
