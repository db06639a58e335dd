"""``{{ text|shown_to:user }}``: a builtin filter of every template (settings.TEMPLATES)."""

from django import template
from django.utils.safestring import SafeData, mark_safe

from tokenportal.disclosure import shown_to as _shown_to

register = template.Library()


@register.filter
def shown_to(text, user):
    text = str(text)  # a message is shown as its text, which may be safe HTML (a link)
    shown = _shown_to(text, user)
    # Safe in, safe out: an address is replaced by plain words, which cannot open or close markup.
    return mark_safe(shown) if isinstance(text, SafeData) else shown
