"""The target's log cut to the app's own traceback lines."""

from __future__ import annotations

from leakbench._targets.process import app_traceback

LOG = """\
INFO:     Started server process [12]
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/uvicorn/importer.py", line 19, in import_from_string
    module = importlib.import_module(module_str)
  File "<frozen importlib._bootstrap>", line 1204, in _gcd_import
  File "/srv/shop/main.py", line 3, in <module>
    from shop.db import engine
  File "/srv/shop/db.py", line 7, in <module>
    raise RuntimeError("no DATABASE_URL")
RuntimeError: no DATABASE_URL
"""


def test_only_the_apps_frames_and_the_exception_are_kept() -> None:
    assert app_traceback(LOG) == [
        '  File "/srv/shop/main.py", line 3, in <module>',
        "    from shop.db import engine",
        '  File "/srv/shop/db.py", line 7, in <module>',
        '    raise RuntimeError("no DATABASE_URL")',
        "RuntimeError: no DATABASE_URL",
    ]


def test_a_log_without_a_traceback_gives_nothing() -> None:
    assert app_traceback("INFO: started\nERROR: bind failed\n") == []
