"""Every URL the portal routes, as a concrete path, found by walking the resolver.

A test that iterates these covers a page added tomorrow without being edited. Patterns with
parameters get the first sample value that resolves (a campaign's pk, a token id, an admin
app label), so each path reaches its view rather than a 404.
"""

from dataclasses import dataclass

from django.urls import URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize

SAMPLE_VALUES = ("1", "tokens_app", "auth", "locks_app", "x")


@dataclass(frozen=True)
class Route:
    path: str
    name: str  # "namespace:name", or the regex for an unnamed pattern
    view_class: type | None

    def __str__(self) -> str:
        return self.path


def _regex(pattern) -> str:
    regex = pattern.pattern.regex.pattern.lstrip("^")
    for end in (r"\Z", "$"):
        regex = regex.removesuffix(end)
    return regex


def _walk(patterns, prefix: str, namespace: str):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + _regex(pattern), inner)
        else:
            yield prefix + _regex(pattern), f"{namespace}{pattern.name}" if pattern.name else None, pattern


def routes(values: dict[str, str] | None = None) -> list[Route]:
    """One concrete path per URL pattern; ``values`` overrides the sample for a parameter name."""
    found = []
    for regex, name, pattern in _walk(get_resolver().url_patterns, "", ""):
        template, params = normalize(regex)[0]
        path = _first_resolving(template, params, values or {})
        callback = pattern.callback
        found.append(Route(path, name or regex, getattr(callback, "view_class", None)))
    return found


def _first_resolving(template: str, params: list[str], values: dict[str, str]) -> str:
    for sample in SAMPLE_VALUES:
        path = "/" + template % {param: values.get(param, sample) for param in params}
        try:
            resolve(path)
        except Resolver404:
            continue
        return path
    raise AssertionError(f"no sample value makes {template!r} resolve")


def accepts_post(route: Route) -> bool:
    view = route.view_class
    return view is not None and "post" in view.http_method_names and hasattr(view, "post")
