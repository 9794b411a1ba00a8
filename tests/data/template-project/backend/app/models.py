import uuid

from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=255)
    hashed_password: str
    is_active: bool = True


class UserPublic(SQLModel):
    id: uuid.UUID
    email: str


class ItemCreate(SQLModel):
    title: str = Field(min_length=1, max_length=255)


class Item(ItemCreate, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="user.id", nullable=False, ondelete="CASCADE")


class ItemPublic(ItemCreate):
    id: uuid.UUID
    owner_id: uuid.UUID


class ItemsPublic(SQLModel):
    data: list[ItemPublic]
    count: int


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
