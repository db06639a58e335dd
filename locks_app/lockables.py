"""What may be locked from the browser and the commands, and how such objects are found.

``settings.LOCKABLE_MODELS`` lists the models (``"app_label.model_name"``) whose objects users
may lock, share and freeze; nothing else can be named in a lock form or command. An app that
owns a lockable model may register hooks for it (usually in its ``AppConfig.ready``):

- ``permission``: what a user needs to lock an object of the model (default: the model's
  ``change`` permission);
- ``add_arguments(parser)`` and ``find(options)``: command options that name an object in the
  operators' own terms (``find`` answers the instance, ``None`` when its options were not given,
  or raises ``ValueError`` with a one-line message).

locks_app itself knows no model: it works with any, and with none of the apps that define them.
"""

from dataclasses import dataclass
from typing import Callable

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from . import keys


@dataclass(frozen=True)
class Lockable:
    """A model whose objects may be locked, with its hooks."""

    label: str
    permission: str
    add_arguments: Callable | None = None
    find: Callable | None = None


_hooks: dict[str, dict] = {}


def register(label: str, *, permission=None, add_arguments=None, find=None) -> None:
    """Register the hooks of the model ``label`` (lockable only if LOCKABLE_MODELS lists it)."""
    _hooks[label.lower()] = {"permission": permission, "add_arguments": add_arguments, "find": find}


def configured() -> list[str]:
    """The labels LOCKABLE_MODELS lists, each checked to name an installed model."""
    labels = getattr(settings, "LOCKABLE_MODELS", [])
    if not isinstance(labels, (list, tuple)) or not all(isinstance(label, str) for label in labels):
        raise ImproperlyConfigured(f"LOCKABLE_MODELS={labels!r} is not a list of model labels")
    found = []
    for label in labels:
        try:
            apps.get_model(label)
        except (LookupError, ValueError):
            raise ImproperlyConfigured(
                f"LOCKABLE_MODELS names {label!r}, which is no installed model (write app_label.model_name)"
            ) from None
        found.append(label.lower())
    return found


def enabled() -> list[Lockable]:
    """Every lockable model, in the order LOCKABLE_MODELS lists them."""
    return [_lockable(label) for label in configured()]


def _lockable(label: str) -> Lockable:
    hooks = _hooks.get(label, {})
    app_label, model_name = label.split(".")
    permission = hooks.get("permission") or f"{app_label}.change_{model_name}"
    return Lockable(label, permission, hooks.get("add_arguments"), hooks.get("find"))


def of(obj) -> Lockable | None:
    """The lockable model ``obj`` is an instance of, or ``None`` when it may not be locked."""
    if not isinstance(obj, models.Model):
        return None
    label = obj._meta.label_lower
    return _lockable(label) if label in configured() else None


def lookup(key: str):
    """The lockable object a key names; ``ValueError`` (one line) for anything else.

    The model is checked before the object is looked for, so a key of another model tells
    nothing about which of its objects exist.
    """
    label = key.partition(":")[0].strip().lower()
    if label not in configured():
        raise ValueError(f"{key!r} names nothing that can be locked here")
    return keys.lookup(key.strip())


def add_arguments(parser) -> None:
    """Every lockable model's command options."""
    for lockable in enabled():
        if lockable.add_arguments:
            lockable.add_arguments(parser)


def find(options: dict):
    """The object the lockable models' command options name, or ``None`` when none were given."""
    for lockable in enabled():
        if lockable.find:
            found = lockable.find(options)
            if found is not None:
                return found
    return None
