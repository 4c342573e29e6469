"""FastAPI dependencies shared by every domain: settings, the DB session, who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.accounts import service as accounts
from app.config import Settings
from app.db import get_db
from app.errors import Forbidden, NotSignedIn
from app.i18n import gettext as _
from app.models import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Row ids are 32-bit integers in the database; anything outside is simply not found.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Viewer:
    """What every page shows about the signed-in person. A plain copy, not the ORM row: error
    pages render after the request's database session is gone."""

    id: int
    shown_name: str
    is_admin: bool
    terms_version: str

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.shown_name, user.is_admin, user.terms_version)


def session_cookie_name(settings: Settings) -> str:
    # Browsers only accept the __Host- prefix on Secure cookies, which plain-http local runs
    # cannot set; there the cookie keeps every other protection under a plain name.
    return "__Host-devex_session" if settings.secure_cookies else "devex_session"


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_info(request: Request) -> accounts.ClientInfo:
    return accounts.ClientInfo(
        ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", "")[:300],
    )


def _bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_user(
    request: Request,
    db: Annotated[Session, Depends(get_db)],
    settings: Annotated[Settings, Depends(get_settings_dep)],
) -> User | None:
    """The person behind the request: an API token (Bearer) or a session cookie, or nobody."""
    user = None
    raw_token = _bearer_token(request)
    if raw_token is not None:
        found = accounts.user_for_api_token(db, raw_token)
        if found is None:
            raise NotSignedIn(_("This API token is unknown, expired or revoked."))
        user, token = found
        if token.scope == "read" and request.method not in SAFE_METHODS:
            raise Forbidden(_("This API token can only read. Create a token with write scope."))
    else:
        cookie = request.cookies.get(session_cookie_name(settings))
        if cookie:
            user = accounts.user_for_session(db, cookie, settings)
    request.state.viewer = Viewer.of(user) if user else None
    return user


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotSignedIn()
    return user


async def read_form(request: Request) -> FormData:
    """Parsed once here so the routes themselves can be plain (threadpool) functions."""
    return await request.form()


def form_text(form: FormData, name: str) -> str:
    """A text field of a posted form ('' when missing or when it is a file)."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def form_values(form: FormData) -> dict[str, str]:
    """Every text field, to show a form again with what the person typed."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


DbSession = Annotated[Session, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
Client = Annotated[accounts.ClientInfo, Depends(client_info)]
FormBody = Annotated[FormData, Depends(read_form)]
# A row id in a URL: out-of-range numbers are refused at the door instead of reaching the database.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
