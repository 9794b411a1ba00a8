"""A small shop API for --all-routes: a CRUD resource, a bearer-token route, and one route
that leaks on an error path once in 20 requests.

Written from first principles, as a new user's app would be: SQLAlchemy 2.0 ORM, one
``Session`` per request from a ``yield`` dependency, tables made at import. The leak:
``GET /orders/{order_id}/invoice`` opens its own session, and when the (simulated)
billing service fails, every 20th call, it keeps the session "to retry later" and
raises: the connection stays checked out, idle in transaction, for good.
``GET /me`` looks its bearer token up in the database, so a made-up token is
answered 401 after SQL ran.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

URL = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(URL, pool_size=5, max_overflow=5, pool_timeout=2)


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[int]


class ApiToken(Base):
    __tablename__ = "api_tokens"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(80))


Base.metadata.create_all(engine)


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
bearer = HTTPBearer()


class OrderIn(BaseModel):
    item: str = Field(min_length=1, max_length=80)
    quantity: int = Field(ge=1, le=1000)


class OrderOut(OrderIn):
    id: int


app = FastAPI(title="shop")
_invoice_calls = itertools.count(1)
_retry_later: list[Session] = []  # the bug: sessions kept on the error path, never closed


@app.post("/orders/", response_model=OrderOut)
def create_order(order: OrderIn, session: SessionDep) -> Order:
    row = Order(item=order.item, quantity=order.quantity)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


@app.get("/orders/", response_model=list[OrderOut])
def list_orders(session: SessionDep, limit: int = 20) -> list[Order]:
    return list(session.scalars(select(Order).order_by(Order.id.desc()).limit(limit)))


@app.get("/orders/count")
def count_orders(session: SessionDep) -> dict[str, int]:
    return {"count": session.scalar(select(func.count()).select_from(Order)) or 0}


@app.get("/orders/{order_id}", response_model=OrderOut)
def read_order(order_id: int, session: SessionDep) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise HTTPException(404, "Order not found")
    return order


@app.put("/orders/{order_id}", response_model=OrderOut)
def update_order(order_id: int, order_in: OrderIn, session: SessionDep) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise HTTPException(404, "Order not found")
    order.item, order.quantity = order_in.item, order_in.quantity
    session.commit()
    session.refresh(order)
    return order


@app.get("/orders/{order_id}/invoice")
def invoice(order_id: int) -> dict[str, object]:
    session = Session(engine)
    order = session.get(Order, order_id)  # checks out a connection and BEGINs
    if next(_invoice_calls) % 20 == 0:  # the billing service fails
        _retry_later.append(session)
        raise HTTPException(502, "Billing service unavailable; retried later")
    session.close()
    if order is None:
        raise HTTPException(404, "Order not found")
    return {"order": order_id, "total": order.quantity * 10}


@app.delete("/orders/{order_id}")
def delete_order(order_id: int, session: SessionDep) -> dict[str, str]:
    order = session.get(Order, order_id)
    if order is None:
        raise HTTPException(404, "Order not found")
    session.delete(order)
    session.commit()
    return {"message": "deleted"}


@app.get("/me")
def me(
    credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)], session: SessionDep
) -> dict[str, str]:
    token = session.get(ApiToken, credentials.credentials)
    if token is None:
        raise HTTPException(401, "Unknown token")
    return {"owner": token.owner}
