"""The engine (one pool per process) and the seed of the first superuser."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, create_engine, select

from app.core.config import settings
from app.core.security import get_password_hash
from app.models import User


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):  # the example's own tests
        return create_engine(url, connect_args={"check_same_thread": False})
    # SQLAlchemy's defaults, written out: 5 pooled + 10 overflow connections per process.
    return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)


engine = make_engine(settings.SQLALCHEMY_DATABASE_URI)


def init_db(session: Session) -> None:
    """Create the first superuser if it is not there yet (tables come from Alembic)."""
    user = session.exec(select(User).where(User.email == settings.FIRST_SUPERUSER)).first()
    if user is None:
        session.add(
            User(
                email=settings.FIRST_SUPERUSER,
                hashed_password=get_password_hash(settings.FIRST_SUPERUSER_PASSWORD),
                is_superuser=True,
                full_name="Admin",
            )
        )
        session.commit()
