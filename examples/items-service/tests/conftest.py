"""The service's own tests: a throwaway SQLite file instead of PostgreSQL, tables made directly."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_DB = Path(tempfile.mkdtemp(prefix="items-service-")) / "test.db"
os.environ["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{_DB}"

from fastapi.testclient import TestClient  # noqa: E402 - the settings above must come first
from sqlmodel import Session, SQLModel  # noqa: E402

from app.core.config import settings  # noqa: E402
from app.core.db import engine, init_db  # noqa: E402
from app.main import app  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _database() -> Iterator[None]:
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        init_db(session)
    yield
    engine.dispose()


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def token_headers(client: TestClient) -> dict[str, str]:
    answer = client.post(
        f"{settings.API_V1_STR}/login/access-token",
        data={"username": settings.FIRST_SUPERUSER, "password": settings.FIRST_SUPERUSER_PASSWORD},
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
