"""Views of tokens_app, a module per page: thin wrappers around the read modules and services.

Each view parses the request (a form), calls a read (``campaign_page``, the selectors) or a
service (writes), and answers with a page, a message and a redirect, or JSON. Everything a page
may change needs the ``tokens_app.change_campaign`` permission; reading needs a login
(LoginRequiredMiddleware).
"""
