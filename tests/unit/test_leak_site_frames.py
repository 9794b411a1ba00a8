"""Which frames are the app's own code when the probe records where a connection was taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakbench._targets import sites


def test_a_package_installed_anywhere_is_a_library(tmp_path: Path) -> None:
    # A dependency lent by a .pth file or PYTHONPATH lives outside this interpreter's
    # own site-packages, as in leakbench matrix's environments: still not the app's code.
    for folder in ("site-packages", "dist-packages"):
        library = tmp_path / "elsewhere" / "lib" / folder / "starlette" / "routing.py"
        assert sites._shown(str(library)) is None


def test_the_apps_file_is_shown_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sites._shown(str(tmp_path / "shop" / "orders.py")) == "shop/orders.py"
    assert sites._shown("/srv/other/app.py") == "/srv/other/app.py"
