"""``leakbench init``: read a project, write the ``[tool.leakbench]`` section that checks it.

:mod:`.discover` reads the source without running it (the app object, the
settings' environment variables, Alembic, a seed module), :mod:`.openapi`
imports the app in a child process for its OpenAPI schema and turns it into
routes, and :mod:`.section` writes the commented TOML.
"""
