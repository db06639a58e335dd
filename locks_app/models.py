"""Lock tokens on the ORM: the history of every token, and the three indexes of active ones.

``LockToken`` keeps every token ever registered, for audit. ``LockedObject`` (object key, unique,
and expiration, indexed) and ``LockPrincipal`` (principal id, indexed) hold only tokens that have
not ended explicitly; expired ones stay until the next registration cleans them out, as in
zope.locking. The unique object key is what makes registration safe across processes.
"""

from django.conf import settings
from django.db import models

from .keys import MAX_KEY_LENGTH


class LockToken(models.Model):
    """One token, from registration to its end; the row outlives the token as history."""

    class Kind(models.TextChoices):
        EXCLUSIVE = "exclusive", "exclusive lock"
        SHARED = "shared", "shared lock"
        # Operators read "freeze" for the usual kind (one they can end) and "permanent freeze"
        # for the one that never ends; the stored values keep zope.locking's names.
        FREEZE = "freeze", "permanent freeze"
        ENDABLE_FREEZE = "endable_freeze", "freeze"

    class EndReason(models.TextChoices):
        ENDED = "ended", "ended by a holder"
        BROKEN = "broken", "broken by someone else"
        EXPIRED = "expired", "expired"
        EMPTIED = "emptied", "last principal removed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_key = models.CharField(max_length=MAX_KEY_LENGTH, db_index=True)
    principal_ids = models.JSONField(default=list, blank=True)
    started = models.DateTimeField()
    duration = models.DurationField(null=True, blank=True)
    expiration = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=10, choices=EndReason.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started"]
        permissions = [
            ("break_lock", "Can end locks held by others"),
            ("freeze_object", "Can freeze objects"),
            ("lock_until_ended", "Can lock without expiry or beyond LOCK_MAX_DURATION"),
            ("join_lock", "Can join shared locks held by others"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.object_key}"


class LockedObject(models.Model):
    """The object-key and expiration indexes: one row per locked object, until cleaned out."""

    object_key = models.CharField(max_length=MAX_KEY_LENGTH, unique=True)
    token = models.OneToOneField(LockToken, on_delete=models.CASCADE, related_name="locked_object")
    expiration = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["object_key"]

    def __str__(self):
        return self.object_key


class LockPrincipal(models.Model):
    """The principal index: one row per principal of an indexed token."""

    principal_id = models.CharField(max_length=150, db_index=True)
    token = models.ForeignKey(LockToken, on_delete=models.CASCADE, related_name="principal_rows")

    class Meta:
        ordering = ["principal_id"]
        constraints = [
            models.UniqueConstraint(fields=["token", "principal_id"], name="unique_token_principal"),
        ]

    def __str__(self):
        return f"{self.principal_id} → {self.token_id}"
