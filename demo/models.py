"""A private sandbox: three users (two members, one staff) that belong to one visitor of /demo/.

Rows per sandbox: one ``Sandbox``, three ``SandboxUser`` and three users, plus the security
events its users cause (docs/deployment.md, "Sandboxes"). Deleting a sandbox's users deletes
their events (``SecurityEvent.user`` cascades); ``demo.sandboxes.remove`` also ends their
sessions first.
"""

from django.conf import settings
from django.db import models


class Sandbox(models.Model):
    # The readable part of its usernames ("7f3k" in "alice-7f3k"): unique among live sandboxes.
    suffix = models.CharField(max_length=8, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    # The users' initial password hash (Argon2), copied back by "Reset my demo" without hashing.
    password_hash = models.CharField(max_length=256)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"sandbox {self.suffix} (until {self.expires_at:%H:%M})"


class SandboxUser(models.Model):
    ROLES = [("member", "member"), ("staff", "staff")]

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="demo_sandbox",
    )
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=10, choices=ROLES)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sandbox", "position"]

    def __str__(self):
        return f"{self.user_id} in {self.sandbox_id} ({self.role})"
