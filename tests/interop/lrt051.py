"""What operators do with GRID_LRT 0.5.1, one step per call; run by the Python of its own venv.

``python lrt051.py CONNECTION STEP [ARGS...]``: CONNECTION is a JSON object with the server's
``url``, ``user``, ``password``, the ``database`` and the token ``type``. Each step prints one
JSON value on stdout. Steps:

- ``create CONFIG SRMLIST SLICE [ATTACHMENT...]``: a token set the GRID_LRT way: an ``srmlist``
  read line by line, ``slice_dicts`` of its ``sbn_dict``, ``TokenSet.create_dict_tokens`` with
  ``srm.txt``, the OBSID set with ``add_keys_to_list`` and each attachment added with
  ``add_attach_to_list`` (the views are a step of their own, ``add_views``). CONFIG is a YAML
  step config (its ``Token`` section read as GRID_LRT's ``Token.TokenSet`` reads it, with a safe
  loader) or a JSON file of token fields. Prints how many tokens it made.
- ``add_views``: ``add_status_views`` and ``add_overview_view``, as scripts routinely re-run them.
- ``load_views``: ``TokenHandler.load_views``; prints the view names.
- ``add_mapreduce_view NAME CONDITION``: ``add_mapreduce_view``, a "mini-overview" (map and
  reduce) of the tokens for which CONDITION holds; prints the view names.
- ``reset VIEW``: ``reset_tokens(VIEW)``; prints how many tokens it reset.
- ``set_view_to_status VIEW STATUS``: prints how many tokens the view listed before.
- ``tokens``: ``TokenSet(th).tokens``, the ids of every view but ``overview_total``.
- ``overview``: the grouped rows of ``overview_total`` as GRID_LRT's own scripts read them.
"""

import json
import sys

import yaml
from GRID_LRT.Staging.srmlist import slice_dicts, srmlist
from GRID_LRT.token import TokenHandler, TokenSet


def handler(connection):
    return TokenHandler(
        t_type=connection["type"], srv=connection["url"], uname=connection["user"],
        pwd=connection["password"], dbn=connection["database"],
    )


def token_keys(config_path):
    with open(config_path) as config:
        text = config.read()
    if config_path.endswith(".json"):
        return json.loads(text)
    return yaml.safe_load(text)["Token"]


def create(connection, config_path, srmlist_path, slice_size, *attachments):
    links = srmlist()
    with open(srmlist_path) as lines:
        for line in lines:
            links.append(line.strip())
    chunks = slice_dicts(links.sbn_dict(), int(slice_size))
    thandler = handler(connection)
    tokens = TokenSet(th=thandler)
    tokens.token_keys = token_keys(config_path)
    tokens.create_dict_tokens(
        iterable=chunks, id_prefix="SB", id_append=links.obsid, key_name="STARTSB", file_upload="srm.txt",
    )
    tokens.add_keys_to_list("OBSID", links.obsid)
    for path in attachments:
        tokens.add_attach_to_list(path)
    return len(chunks)


def add_views(connection):
    thandler = handler(connection)
    thandler.add_status_views()
    thandler.add_overview_view()
    return sorted(thandler.views)


def add_mapreduce_view(connection, name, condition):
    thandler = handler(connection)
    thandler.add_mapreduce_view(view_name=name, cond=condition)
    thandler.load_views()
    return sorted(thandler.views)


def load_views(connection):
    thandler = handler(connection)
    thandler.load_views()
    return sorted(thandler.views)


def reset(connection, view):
    return len(handler(connection).reset_tokens(view))


def set_view_to_status(connection, view, status):
    thandler = handler(connection)
    listed = len(thandler.list_tokens_from_view(view))
    thandler.set_view_to_status(view, status)
    return listed


def tokens(connection):
    return sorted(TokenSet(th=handler(connection)).tokens)


def overview(connection):
    rows = handler(connection).database.view(connection["type"] + "/overview_total", group=True)
    return {row.key: row.value for row in rows}


STEPS = {function.__name__: function for function in (
    create, add_views, add_mapreduce_view, load_views, reset, set_view_to_status, tokens, overview,
)}

if __name__ == "__main__":
    connection, step, *arguments = sys.argv[1:]
    print(json.dumps(STEPS[step](json.loads(connection), *arguments)))
