"""The exercises: what to try, how the server stops it, where, and how the lab knows.

Text only; ``state.RULES`` says which security event solves each one. The guidance ids are the
ones docs/controls.md cites for the same control.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Exercise:
    slug: str
    title: str
    goal: str
    steps: tuple[str, ...]
    hints: tuple[str, ...]
    control: str
    guidance: tuple[str, ...]
    code: tuple[str, ...]
    detection: str
    switch: str | None = None
    without: str = ""
    needs_key: bool = False
    tags: tuple[str, ...] = field(default=())


ATTACKER = "the attacker window (a private window, or another browser)"

EXERCISES = (
    Exercise(
        slug="fixation",
        title="Session fixation: plant a key before sign-in",
        goal="Make the victim sign in on a session key you chose, then use that key yourself.",
        steps=(
            f"In {ATTACKER}, open this page signed out and copy the session key from the "
            "“Your session key” panel: it is the attacker's own, signed-out key.",
            "In the victim window, sign out, then plant that key: DevTools > Application > "
            "Cookies > the site > double-click the value of __Host-id and paste it.",
            "In the victim window, sign in as one of your users.",
            "In the attacker window, open Dashboard. Are you signed in as the victim?",
        ),
        hints=(
            "The attacker never types a password: they only hope the server keeps the key.",
            "Compare the key in the panel of the victim window before and after signing in.",
        ),
        control=(
            "Every sign-in renews the session key (Django's login() calls cycle_key(); the "
            "engine renews it too when the same user signs in again). The planted key is left "
            "behind as a signed-out tombstone: whoever holds it stays signed out."
        ),
        guidance=(
            "OWASP Session Management: “Renew the Session ID After Any Privilege Level Change”",
            "OWASP “Session Fixation”",
            "PHP Session Security: “Session ID Regeneration”",
        ),
        code=(
            "sessions_admin/store.py::SessionStore.cycle_key",
            "sessions_admin/signals.py::record_sign_in",
            "sessions_admin/services/sign_in.py::sign_in",
        ),
        detection=(
            "Solved when the key that was presented at a sign-in of your users comes back "
            "after the sign-in and is refused (stays signed out): an access_denied event with "
            "reason lab_fixation_refused."
        ),
        switch="rotate_at_sign_in",
        without=(
            "Without rotation at sign-in the session keeps the key it had before: the attacker "
            "window is signed in as your user the moment the victim signs in."
        ),
        needs_key=True,
    ),
    Exercise(
        slug="replay-after-logout",
        title="Replay a cookie after sign-out",
        goal="Steal a signed-in key, let the victim sign out, then use the key.",
        steps=(
            "In the victim window, sign in and open this page: copy the session key.",
            f"In {ATTACKER}, set __Host-id to that key (DevTools > Application > Cookies).",
            "In the victim window, press Sign out.",
            "In the attacker window, open Dashboard.",
        ),
        hints=(
            "Deleting a cookie in the browser is not the same as ending the session: what did "
            "the server do when the victim signed out?",
        ),
        control=(
            "Sign-out is a POST that ends the session in Redis (end reason “logout”) and sends "
            "Clear-Site-Data. The key is dead everywhere, not just in the victim's browser."
        ),
        guidance=("OWASP Session Management: “Manual Session Expiration”, “Logout Button”",),
        code=(
            "accounts/views.py::logout_view",
            "sessions_admin/services/sign_in.py::sign_out",
            "sessions_admin/store.py::SessionStore.flush",
        ),
        detection=(
            "Solved when a signed-out key of your users is presented again and refused: an "
            "access_denied event with reason session_replay, end_reason logout."
        ),
        switch="server_side_logout",
        without=(
            "With a client-only sign-out the browser forgets its cookie, the session stays "
            "live in Redis, and the copied key still opens the dashboard."
        ),
        needs_key=True,
    ),
    Exercise(
        slug="remote-end",
        title="Replay after a remote end",
        goal="From one device, end another device's session; watch the other device lose it.",
        steps=(
            f"Sign in as the same user in the victim window and in {ATTACKER} (a second "
            "device, or a thief who had the password).",
            "In the victim window, open Your sessions and end the other session "
            "(you may be asked for your password first).",
            "In the attacker window, open Dashboard or reload any page.",
        ),
        hints=("“Your sessions” lists every live session of the user, with its device and IP.",),
        control=(
            "Ending a session from “Your sessions” removes it from Redis at once, with the "
            "reason kept so the other device is told why on its next request."
        ),
        guidance=(
            "OWASP Session Management: “Simultaneous Session Logons”",
            "ASVS 7.5.2 (a recent authentication before ending sessions)",
        ),
        code=(
            "sessions_admin/views.py (your sessions)",
            "sessions_admin/services/ending.py::end_session",
            "sessions_admin/registry.py::end_session",
        ),
        detection=(
            "Solved when the ended key is presented again and refused: an access_denied event "
            "with reason session_replay, end_reason ended_by_user."
        ),
    ),
    Exercise(
        slug="idle-timeout",
        title="Idle timeout, with the tab closed",
        goal="Leave a signed-in session unused past the idle timeout, then try to use it.",
        steps=(
            "In the victim window, sign in and copy the session key from this page.",
            "Close the victim window (or just leave it alone) for longer than the idle "
            "timeout shown in the banner.",
            f"In {ATTACKER}, set __Host-id to the key and open Dashboard "
            "(or reopen the victim window).",
        ),
        hints=(
            "The page's countdown is a courtesy; the server's clock is the authority. Closing "
            "the tab stops the countdown, not the server.",
        ),
        control=(
            "The idle deadline is checked on every request, server-side, from the last activity "
            "recorded in Redis; the payload's TTL then removes it."
        ),
        guidance=(
            "OWASP Session Management: “Automatic Session Expiration” (Idle Timeout)",
            "ATG 3.1",
        ),
        code=("sessions_admin/policy.py::evaluate", "sessions_admin/middleware.py"),
        detection="Solved by a session_expired_idle event of one of your users.",
        switch="server_idle_timeout",
        without=(
            "With an idle timeout kept only in the page (a countdown in a script), closing the "
            "tab stops the clock: the copied key works until the absolute timeout. Switched "
            "off, your sandbox's sessions are marked to leave the idle timeout to the page; the "
            "server still ends them at the absolute timeout."
        ),
        needs_key=True,
    ),
    Exercise(
        slug="rotation-tripwire",
        title="The rotation tripwire: an old key after sudo mode",
        goal="Use a key from before a privilege change, after its grace period.",
        steps=(
            "In the victim window, sign in and copy the session key from this page.",
            "Confirm your password (Your sessions > a protected action, or /accounts/elevate/): "
            "the key is renewed.",
            "Wait more than the rotation grace (30 seconds by default).",
            f"In {ATTACKER}, set __Host-id to the old key and open Dashboard.",
        ),
        hints=(
            "Within the grace the old key still works, read-only, for racing requests; after "
            "it, only a copy would still send it.",
        ),
        control=(
            "A rotated-away key is a tombstone. Used after the grace it is proof of a copy: "
            "every session of the user ends (obsolete_session_reuse)."
        ),
        guidance=(
            "PHP Session Security: “Session ID Regeneration” (obsolete sessions)",
            "OWASP Session Management: “Renew the Session ID After Any Privilege Level Change”",
        ),
        code=(
            "sessions_admin/middleware.py::SessionPolicyMiddleware._tripwire",
            "sessions_admin/registry.py::rotate",
        ),
        detection="Solved by an obsolete_session_reuse event of one of your users.",
        needs_key=True,
    ),
    Exercise(
        slug="ua-binding",
        title="User-agent binding: a stolen cookie in another browser",
        goal="Use a signed-in key from a browser with a different user agent.",
        steps=(
            "In the victim window, sign in and copy the session key from this page.",
            "In another browser (a different brand, or DevTools > Network conditions > User "
            "agent), set __Host-id to the key and open Dashboard.",
        ),
        hints=("A private window of the same browser sends the same user agent: use another.",),
        control=(
            "The user agent is recorded at sign-in; a request with another one ends the session "
            "(SESSION_BIND_UA=terminate). The client IP is checked and logged too."
        ),
        guidance=(
            "OWASP Session Management: “Binding the Session ID to Other User Properties”",
            "ATG 3.2 (verifyRemoteAddr)",
        ),
        code=("sessions_admin/policy.py::binding_changes", "sessions_admin/middleware.py"),
        detection="Solved by a binding_mismatch event (terminated) of one of your users.",
        needs_key=True,
    ),
    Exercise(
        slug="brute-force",
        title="Brute force against the sign-in throttle",
        goal="Guess one of your users' passwords until the server stops you.",
        steps=(
            f"In {ATTACKER}, signed out, try to sign in as one of your users with wrong "
            "passwords, again and again.",
            "Now try the right password from the attacker window. Then from the victim window.",
        ),
        hints=("Count the tries. Is the owner, from their own browser, locked out too?",),
        control=(
            "Failures are counted per account and client, per account from unfamiliar clients "
            "and per client, atomically before the password hash runs; past the limit the "
            "answer is 429 with Retry-After, and login_throttled is logged once."
        ),
        guidance=("ASVS 6.3.1 (brute force)", "ASVS 6.1.1 (no malicious lockout)"),
        code=("accounts/throttle.py::reserve_sign_in", "accounts/views.py::_refuse_throttled"),
        detection="Solved by a login_throttled event of one of your users.",
    ),
    Exercise(
        slug="back-button",
        title="The Back button after the session ended",
        goal="Get a private page back on screen with the Back button after its session ended.",
        steps=(
            "In the victim window, sign in, open Dashboard, then open any other page of the "
            "site (this lab, or Your sessions).",
            f"In {ATTACKER}, sign in as the same user and press Sign out all other sessions "
            "on Your sessions (as if the victim ended a forgotten session from their phone).",
            "In the victim window, press the browser's Back button.",
            "Also try: sign out in the victim window, then press Back.",
        ),
        hints=(
            "Browsers may restore a whole page from memory (the back/forward cache) without "
            "asking the server. What does the page do when that happens?",
            "Sign-out sends Clear-Site-Data, which also empties that cache: Back after your own "
            "sign-out asks the server, and the server sends you to sign in.",
        ),
        control=(
            "Private pages are no-store, sign-out sends Clear-Site-Data, and the page script "
            "handles pageshow with event.persisted: a page restored from the cache re-checks the "
            "session at once and leaves when it has ended."
        ),
        guidance=("OWASP Session Management: “Web Content Caching”",),
        code=(
            "static/js/session-timeout.js (pageshow)",
            "project/middleware.py::NoStoreMiddleware",
        ),
        detection=(
            "Solved when the page script reports that it caught a private page restored from "
            "the back/forward cache after its session ended (a beacon from static/js/lab.js, in "
            "lab mode only: an access_denied event with reason lab_back_button). Use Chrome, "
            "Edge or Firefox with the back/forward cache on."
        ),
    ),
    Exercise(
        slug="csrf",
        title="CSRF against “end session” from another origin",
        goal="Make the victim's browser end a session from a page on another site.",
        steps=(
            "In the victim window, sign in.",
            "Download the attack page (link below) and open the file in the victim window: "
            "it is a page of another origin with a form that posts to “end other sessions”.",
            "Press its button.",
        ),
        hints=(
            "Which cookie does the browser send with a cross-site POST (SameSite=Lax)? "
            "Which token is missing?",
        ),
        control=(
            "Cross-site requests other than top-level GET navigations are refused before the "
            "session loads (Fetch Metadata); every POST also needs the CSRF token kept in the "
            "session, and the cookie is SameSite=Lax."
        ),
        guidance=(
            "OWASP “Cross-Site Request Forgery Prevention”",
            "ASVS 3.5.1, 3.5.8",
        ),
        code=(
            "project/middleware.py::FetchMetadataMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware (CSRF_USE_SESSIONS)",
        ),
        detection=(
            "Solved by an access_denied event with reason cross_site or csrf on a /sessions/ "
            "address, of one of your "
            "users or from a client address that opened this page."
        ),
    ),
    Exercise(
        slug="guessing",
        title="Session-ID guessing",
        goal="Try made-up session keys until the server notices.",
        steps=(
            f"In {ATTACKER}, set __Host-id to any 32 letters and digits and reload; change it "
            "and reload again, a dozen times (or run the command below).",
        ),
        hints=(
            "A key has about 165 bits: guessing is hopeless, but the server still counts "
            "distinct unknown keys per client.",
        ),
        control=(
            "A key naming no live session is never adopted; distinct unknown keys are counted "
            "per client, and past SESSION_GUESS_LIMIT (10 in the lab) the client gets 429 and "
            "session_id_guessing is logged."
        ),
        guidance=("OWASP Session Management: “Session ID Guessing and Brute Force Detection”",),
        code=(
            "sessions_admin/middleware.py::SessionPolicyMiddleware._count_guess",
            "sessions_admin/policy.py::over_guess_limit",
        ),
        detection=(
            "Solved by a session_id_guessing event from a client address that opened this page."
        ),
    ),
)

BY_SLUG = {e.slug: e for e in EXERCISES}
