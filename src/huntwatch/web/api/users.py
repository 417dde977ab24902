"""Users, API tokens and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from huntwatch.service import Actor, accounts
from huntwatch.service.audit import list_audit
from huntwatch.web.api.schemas import AuditOut, NewToken, TokenIn, TokenOut, UserIn, UserOut, UserPatch, naive
from huntwatch.web.context import SessionDep, actor

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserOut])
def list_users(tenant_id: int | None = None, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.list_users(s, who, tenant_id)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.create_user(s, who, body.email, body.password, body.role, body.tenant_id, body.display_name)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: int, body: UserPatch, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.update_user(s, who, user_id, role=body.role, disabled=body.disabled, password=body.password)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(tenant_id: int | None = None, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.list_tokens(s, who, tenant_id)


@router.post("/tokens", response_model=NewToken, status_code=201)
def create_token(body: TokenIn, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    plain, token = accounts.create_token(s, who, body.role, body.tenant_id, body.name, naive(body.expires_at))
    return NewToken.model_validate({**TokenOut.model_validate(token).model_dump(), "token": plain})


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: int, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return accounts.revoke_token(s, who, token_id)


@router.get("/audit", response_model=list[AuditOut])
def audit(tenant_id: int | None = None, limit: int = 200, who: Actor = Depends(actor), s: Session = SessionDep) -> Any:
    return list_audit(s, who, tenant_id, min(max(limit, 1), 1000))
