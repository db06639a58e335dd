"""What operators do with GRID_LRT 1.0.7, one step per call; run by the Python of its own venv.

``python lrt107.py CONNECTION STEP [ARGS...]``, CONNECTION as for lrt051.py; each step prints one
JSON value on stdout. Steps:

- ``json_fields CONFIG``: the token fields ``TokenJsonBuilder`` builds from a JSON step config.
- ``create CONFIG COUNT``: COUNT tokens the GRID_LRT 1.0 way: ``caToken``s built with
  ``TokenJsonBuilder`` from a JSON step config, one ``STARTSB`` each (ids
  ``t_<type>_SB<nnn>``), appended to a ``TokenList`` and saved. Prints how many.
- ``add_views``: ``TokenList.add_token_views`` (todo, locked, done, error and overview_view).
- ``views``: the view names ``TokenList.get_views`` lists.
- ``reset VIEW``: ``TokenList.list_view_tokens(VIEW)``, ``reset`` and ``save``; prints how many.
- ``tokens``: ``TokenList.get_all_remote_tokens``; prints the ids, sorted.
- ``add_view NAME CONDITION``: ``TokenList.add_view(TokenView(NAME, CONDITION))``, an operator's
  own view in the type's design document.
- ``list_view VIEW``: the ids ``TokenList.list_view_tokens(VIEW)`` lists, sorted.
"""

import json
import sys

from cloudant.client import CouchDB
from GRID_LRT.token import TokenJsonBuilder, TokenList, TokenView, caToken


def token_list(connection):
    client = CouchDB(connection["user"], connection["password"], url=connection["url"], connect=True)
    return TokenList(token_type=connection["type"], database=client[connection["database"]])


def json_fields(connection, config_path):
    return TokenJsonBuilder(config_path).data


def create(connection, config_path, count):
    tokens = token_list(connection)
    fields = TokenJsonBuilder(config_path).data
    for number in range(int(count)):
        token = caToken(
            database=tokens.database, token_type=connection["type"],
            token_id=f"t_{connection['type']}_SB{number:03d}",
        )
        token.update(fields)
        token["type"] = connection["type"]
        token["STARTSB"] = f"{number:03d}"
        tokens.append(token)
    tokens.save()
    return len(tokens)


def add_view(connection, name, condition):
    tokens = token_list(connection)
    tokens.add_view(TokenView(name, condition))
    return sorted(tokens.get_views())


def list_view(connection, view):
    return sorted(token["_id"] for token in token_list(connection).list_view_tokens(view))


def add_views(connection):
    tokens = token_list(connection)
    tokens.add_token_views()
    return sorted(tokens.get_views())


def views(connection):
    return sorted(token_list(connection).get_views())


def reset(connection, view):
    listed = token_list(connection).list_view_tokens(view)
    listed.reset()
    listed.save()
    return len(listed)


def tokens(connection):
    remote = token_list(connection)
    remote.get_all_remote_tokens()
    return sorted(token["_id"] for token in remote)


STEPS = {function.__name__: function for function in (
    json_fields, create, add_views, views, reset, tokens, add_view, list_view,
)}

if __name__ == "__main__":
    connection, step, *arguments = sys.argv[1:]
    print(json.dumps(STEPS[step](json.loads(connection), *arguments)))
