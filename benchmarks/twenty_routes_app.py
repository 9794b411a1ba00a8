"""A template-sized API for the --all-routes benchmark: 4 resources x 5 CRUD operations.

Each resource has create, list, read, update and delete (DELETE runs only with
--destructive), so --all-routes judges 16 routes by default and 20 with it.
Clean by construction: one session per request from a ``yield`` dependency.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

URL = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(URL, pool_size=5, max_overflow=5)


class Base(DeclarativeBase):
    pass


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


class ThingIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    size: int = Field(ge=0, le=100)


class ThingOut(ThingIn):
    id: int


def resource(name: str) -> APIRouter:
    """A table and its five CRUD routes under /{name}/."""
    table = type(
        name.title(),
        (Base,),
        {
            "__tablename__": name,
            "__annotations__": {"id": Mapped[int], "name": Mapped[str], "size": Mapped[int]},
            "id": mapped_column(primary_key=True),
            "name": mapped_column(String(60)),
        },
    )
    router = APIRouter(prefix=f"/{name}", tags=[name])

    @router.post("/", response_model=ThingOut)
    def create(thing: ThingIn, session: SessionDep) -> object:
        row = table(name=thing.name, size=thing.size)
        session.add(row)
        session.commit()
        session.refresh(row)
        return row

    @router.get("/", response_model=list[ThingOut])
    def listing(session: SessionDep, limit: int = 20) -> list[object]:
        return list(session.scalars(select(table).limit(limit)))

    def found(session: Session, thing_id: int) -> object:
        row = session.get(table, thing_id)
        if row is None:
            raise HTTPException(404, f"No such {name}")
        return row

    @router.get("/{thing_id}", response_model=ThingOut)
    def read(thing_id: int, session: SessionDep) -> object:
        return found(session, thing_id)

    @router.put("/{thing_id}", response_model=ThingOut)
    def update(thing_id: int, thing: ThingIn, session: SessionDep) -> object:
        row = found(session, thing_id)
        row.name, row.size = thing.name, thing.size  # type: ignore[attr-defined]
        session.commit()
        session.refresh(row)
        return row

    @router.delete("/{thing_id}")
    def delete(thing_id: int, session: SessionDep) -> dict[str, str]:
        session.delete(found(session, thing_id))
        session.commit()
        return {"message": "deleted"}

    return router


app = FastAPI(title="twenty routes")
for _name in ("teams", "projects", "tasks", "comments"):
    app.include_router(resource(_name))
Base.metadata.create_all(engine)
