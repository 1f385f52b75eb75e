from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's Password Storage Cheat Sheet parameters: m=19 MiB, t=2, p=1.

    Django's defaults (m=100 MiB, p=8) cost several times more per sign-in for little gain on a
    small server; bench/ measures both. Hashes made under other parameters are upgraded on the
    next successful sign-in (Django's ``must_update``).
    """

    algorithm = "argon2"
    memory_cost = 19 * 1024
    time_cost = 2
    parallelism = 1
