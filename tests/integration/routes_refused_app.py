"""Two routes --all-routes cannot call meaningfully: each must be reported, never CLEAN.

``POST /coupons`` refuses every body its schema allows (a validator the schema cannot
express): 422 to every generated request. ``GET /admin`` checks its bearer token
against a fixed value, without touching a database: 401, and nothing to judge.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, field_validator

app = FastAPI(title="refused")
BearerDep = Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]


class Coupon(BaseModel):
    code: str

    @field_validator("code")
    @classmethod
    def known(cls, code: str) -> str:
        raise ValueError(f"unknown coupon {code!r}")


@app.post("/coupons")
def redeem(coupon: Coupon) -> dict[str, str]:
    return {"code": coupon.code}


@app.get("/admin")
def admin(credentials: BearerDep) -> dict[str, str]:
    if credentials.credentials != "s3cret-admin-token":
        raise HTTPException(401, "Not an admin")
    return {"admin": "yes"}
