"""FastAPI dependencies shared by every domain: settings, the DB session, the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.config import Settings
from app.db import get_db
from app.errors import NotSignedIn
from app.models import User

SESSION_USER_KEY = "user_id"


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def optional_user(request: Request, db: Annotated[Session, Depends(get_db)]) -> User | None:
    user_id = request.session.get(SESSION_USER_KEY)
    user = db.get(User, user_id) if isinstance(user_id, int) else None
    request.state.user = user
    return user


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotSignedIn()
    return user


async def read_form(request: Request) -> FormData:
    """Parsed once here so the routes themselves can be plain (threadpool) functions."""
    return await request.form()


DbSession = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
FormBody = Annotated[FormData, Depends(read_form)]
# Page routers load the signed-in user (if any) for the page header, even where the route
# itself does not need it; FastAPI caches it, so routes that do need it pay nothing more.
PAGE_DEPENDENCIES = [Depends(optional_user)]
