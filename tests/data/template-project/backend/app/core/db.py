from sqlmodel import Session, create_engine, select

from app.core.config import settings
from app.core.security import get_password_hash
from app.models import User

engine = create_engine(str(settings.SQLALCHEMY_DATABASE_URI))


def init_db(session: Session) -> None:
    user = session.exec(select(User).where(User.email == settings.FIRST_SUPERUSER)).first()
    if user is None:
        hashed = get_password_hash(settings.FIRST_SUPERUSER_PASSWORD)
        session.add(User(email=settings.FIRST_SUPERUSER, hashed_password=hashed))
        session.commit()
