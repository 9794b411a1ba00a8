"""Password hashing (PBKDF2 from the standard library) and JWT access tokens (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import jwt

from app.core.config import settings

ALGORITHM = "HS256"
_ITERATIONS = 100_000


def create_access_token(subject: str, expires_delta: timedelta) -> str:
    expire = datetime.now(UTC) + expires_delta
    return jwt.encode({"exp": expire, "sub": subject}, settings.SECRET_KEY, algorithm=ALGORITHM)


def get_password_hash(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return "$".join(
        ["pbkdf2_sha256", str(_ITERATIONS), base64.b64encode(salt).decode(), digest.hex()]
    )


def verify_password(plain_password: str, hashed_password: str) -> bool:
    try:
        _, iterations, salt, digest = hashed_password.split("$")
    except ValueError:
        return False
    candidate = hashlib.pbkdf2_hmac(
        "sha256", plain_password.encode(), base64.b64decode(salt), int(iterations)
    )
    return hmac.compare_digest(candidate.hex(), digest)
