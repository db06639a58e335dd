"""Object keys: how a token names the object it is about.

A model instance is keyed ``"<app_label>.<model_name>:<pk>"``; any other string is its own key.
"""

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

MAX_KEY_LENGTH = 255


def object_key(obj) -> str:
    """The key of ``obj``: a saved model instance or a non-empty string."""
    if isinstance(obj, models.Model):
        if obj.pk is None:
            raise ValueError("an unsaved object cannot be locked")
        key = f"{obj._meta.label_lower}:{obj.pk}"
    elif isinstance(obj, str):
        key = obj.strip()
    else:
        raise TypeError(f"cannot key {type(obj).__name__}: give a model instance or a string")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"an object key has 1 to {MAX_KEY_LENGTH} characters")
    return key


def model_of(key: str):
    """The model class and primary key named by a ``"<app_label>.<model_name>:<pk>"`` key.

    Raises ``ValueError`` with a one-line message for a key of another form or an unknown model.
    """
    label, sep, pk = key.partition(":")
    app_label, dot, model_name = label.partition(".")
    if not (sep and dot and app_label and model_name and pk):
        raise ValueError(f"{key!r} is not an object key of the form <app_label>.<model>:<pk>")
    try:
        return apps.get_model(app_label, model_name), pk
    except LookupError:
        raise ValueError(f"{key!r} names no known model ({label})") from None


def resolve(key: str):
    """The instance a model key names, or the key itself when it names none (a plain string key,
    or an object deleted since)."""
    try:
        model, pk = model_of(key)
        return model._default_manager.filter(pk=pk).first() or key
    except (ValueError, TypeError, models.ObjectDoesNotExist):
        return key


def names(keys) -> dict[str, str]:
    """``str()`` of the objects ``keys`` name, by key: one query per model, not one per key (a
    page of locks). A key that names no existing object reads as itself, as in :func:`resolve`."""
    keys = list(keys)
    by_model: dict = {}
    for key in set(keys):
        try:
            model, pk = model_of(key)
            pk = model._meta.pk.to_python(pk)
            model._meta.pk.run_validators(pk)  # the database's range: a larger number is no key
        except (ValueError, ValidationError):
            continue  # a plain string key, or a primary key the model cannot have
        by_model.setdefault(model, {})[pk] = key
    found = {}
    for model, keyed in by_model.items():
        for obj in model._default_manager.filter(pk__in=list(keyed)):
            found[keyed[obj.pk]] = str(obj)
    return {key: found.get(key, key) for key in keys}


def lookup(key: str):
    """The existing instance a model key names; ``ValueError`` (one line) otherwise."""
    model, pk = model_of(key)
    try:
        return model._default_manager.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise ValueError(f"no {model._meta.verbose_name} with key {key!r}") from None
