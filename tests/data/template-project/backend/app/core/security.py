import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta

import jwt

from app.core.config import settings

ALGORITHM = "HS256"


def create_access_token(subject: str, expires_delta: timedelta) -> str:
    expire = datetime.now(UTC) + expires_delta
    return jwt.encode({"exp": expire, "sub": subject}, settings.SECRET_KEY, algorithm=ALGORITHM)


def get_password_hash(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)
    return salt.hex() + ":" + digest.hex()


def verify_password(password: str, hashed: str) -> bool:
    salt, digest = hashed.split(":")
    again = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 1000)
    return hmac.compare_digest(again.hex(), digest)
