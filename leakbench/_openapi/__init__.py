"""Every route of an app, from its OpenAPI schema: what ``--all-routes`` loads, one row each.

:mod:`.operations` reads the schema into operations and picks and orders them;
:mod:`.values` makes the requests (examples first, then generated values);
:mod:`.flow` carries the id a create route returned to the routes of its items.
"""
