"""Settings from the environment (the template uses pydantic-settings; plain os.environ here)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    API_V1_STR: str = "/api/v1"
    # psycopg 3 URL, e.g. postgresql+psycopg://app:secret@localhost:5432/app
    SQLALCHEMY_DATABASE_URI: str = field(
        default_factory=lambda: os.environ.get(
            "SQLALCHEMY_DATABASE_URI", "postgresql+psycopg://postgres@127.0.0.1:5432/app"
        )
    )
    SECRET_KEY: str = field(
        default_factory=lambda: os.environ.get("SECRET_KEY", "change-this-secret-key-in-prod!!")
    )
    ACCESS_TOKEN_EXPIRE_MINUTES: int = 60 * 24 * 8
    FIRST_SUPERUSER: str = field(
        default_factory=lambda: os.environ.get("FIRST_SUPERUSER", "admin@example.com")
    )
    FIRST_SUPERUSER_PASSWORD: str = field(
        default_factory=lambda: os.environ.get("FIRST_SUPERUSER_PASSWORD", "changethis")
    )
    # The bug this example exists to show: with LEAKY_ITEMS=1 the item list keeps a session.
    LEAKY_ITEMS: bool = field(default_factory=lambda: _flag("LEAKY_ITEMS"))


settings = Settings()
