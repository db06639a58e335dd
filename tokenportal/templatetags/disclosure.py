"""``{{ text|shown_to:user }}``: a builtin filter of every template (settings.TEMPLATES)."""

from django import template

from tokenportal.disclosure import shown_to as _shown_to

register = template.Library()


@register.filter
def shown_to(text, user):
    return _shown_to(text, user)
