"""Template filters of the operations history."""

from django import template

from tokens_app import history

register = template.Library()


@register.filter
def result(operation) -> str:
    """What a finished operation did, as its service words it (empty until it is done)."""
    return history.result_message(operation) if operation.state == operation.State.DONE else ""


@register.filter
def selection(operation) -> str:
    """The tokens an operation was asked for (``history.selection_words``)."""
    return history.selection_words(operation.selection)
