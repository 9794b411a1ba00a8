"""CRUD on the current user's items, behind the bearer token."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException
from sqlmodel import Session, col, func, select

from app.api.deps import CurrentUser, SessionDep
from app.core.config import settings
from app.core.db import engine
from app.models import Item, ItemCreate, ItemPublic, ItemsPublic

router = APIRouter(prefix="/items", tags=["items"])

# The bug LEAKY_ITEMS=1 switches on: sessions kept "to audit later" and never closed.
_audit_sessions: list[Session] = []


@router.get("/", response_model=ItemsPublic)
def read_items(
    session: SessionDep, current_user: CurrentUser, skip: int = 0, limit: int = 100
) -> ItemsPublic:
    owned = Item.owner_id == current_user.id
    count = session.exec(select(func.count()).select_from(Item).where(owned)).one()
    items = session.exec(
        select(Item).where(owned).order_by(col(Item.title)).offset(skip).limit(limit)
    ).all()
    if settings.LEAKY_ITEMS:
        audit = Session(engine)
        audit.exec(select(func.count()).select_from(Item))  # checks out a connection, BEGINs
        _audit_sessions.append(audit)  # never closed: the connection stays idle in transaction
    return ItemsPublic(data=[ItemPublic.model_validate(item) for item in items], count=count)


@router.get("/{item_id}", response_model=ItemPublic)
def read_item(session: SessionDep, current_user: CurrentUser, item_id: uuid.UUID) -> ItemPublic:
    item = session.get(Item, item_id)
    if item is None or item.owner_id != current_user.id:
        raise HTTPException(status_code=404, detail="Item not found")
    return ItemPublic.model_validate(item)


@router.post("/", response_model=ItemPublic)
def create_item(session: SessionDep, current_user: CurrentUser, item_in: ItemCreate) -> ItemPublic:
    item = Item.model_validate(item_in, update={"owner_id": current_user.id})
    session.add(item)
    session.commit()
    session.refresh(item)
    return ItemPublic.model_validate(item)


@router.delete("/{item_id}")
def delete_item(
    session: SessionDep, current_user: CurrentUser, item_id: uuid.UUID
) -> dict[str, str]:
    item = session.get(Item, item_id)
    if item is None or item.owner_id != current_user.id:
        raise HTTPException(status_code=404, detail="Item not found")
    session.delete(item)
    session.commit()
    return {"message": "Item deleted successfully"}
