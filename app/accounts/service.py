"""Accounts: sign-in, server-side sessions, API tokens, profiles, terms, privacy.

Nothing here commits; the route does, once. Raw secrets are returned once and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import Settings
from app.errors import NotFound, ValidationFailed
from app.i18n import gettext as _
from app.models import ApiToken, AuditEvent, OAuthState, TeamMembership, User, UserSession
from app.models.base import utcnow
from app.tokens import hash_secret, new_secret

TOKEN_PREFIX = "dvx_"  # noqa: S105 - a public marker that makes leaked tokens easy to scan for
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, for the audit trail and the session list."""

    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class GitHubIdentity:
    github_id: int
    login: str
    name: str
    avatar_url: str
    email: str | None
    email_verified: bool


def _audit(
    session: Session, user_id: int | None, action: str, client: ClientInfo, **details: Any
) -> None:
    event = audit.record(
        session,
        actor_user_id=user_id,
        action=action,
        subject_type="user",
        subject_id=user_id or 0,
        details=details,
    )
    event.ip = client.ip
    event.user_agent = client.user_agent[:300]


# --- OAuth state: single use, short-lived --------------------------------------------------


def begin_sign_in(session: Session, return_to: str) -> tuple[str, str]:
    """A new (state, PKCE code verifier) pair; only the state's hash is stored."""
    state = new_secret()
    verifier = new_secret()
    session.add(
        OAuthState(
            state_hash=hash_secret(state),
            code_verifier=verifier,
            return_to=safe_return_path(return_to),
        )
    )
    return state, verifier


def consume_state(session: Session, state: str, settings: Settings) -> OAuthState | None:
    """Marks the state used, atomically; a second use, or a stale one, finds nothing."""
    oldest = utcnow() - timedelta(minutes=settings.oauth_state_minutes)
    result = session.execute(
        update(OAuthState)
        .where(
            OAuthState.state_hash == hash_secret(state),
            OAuthState.used_at.is_(None),
            OAuthState.created_at > oldest,
        )
        .values(used_at=utcnow())
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.get(OAuthState, hash_secret(state))


def safe_return_path(path: str) -> str:
    """Only paths on this site: no scheme, no host, no protocol-relative '//', which browsers
    also read in '/\\host' and in '/<tab>/host' (they drop tabs and newlines from addresses)."""
    if (
        not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(char.isspace() or not char.isprintable() for char in path)
    ):
        return "/"
    return path[:500]


# --- Users -----------------------------------------------------------------------------------


def upsert_github_user(session: Session, identity: GitHubIdentity) -> User:
    """One user per numeric GitHub id; login, name, avatar and email refresh at each sign-in."""
    user = session.scalars(select(User).where(User.github_id == identity.github_id)).first()
    if user is None:
        user = User(github_id=identity.github_id, login=identity.login)
        session.add(user)
    user.login = identity.login
    user.name = identity.name
    user.avatar_url = identity.avatar_url
    if identity.email and identity.email_verified:
        user.email = identity.email
        user.email_verified = True
    user.deleted_at = None  # signing in again after deletion starts a fresh, empty account
    session.flush()
    return user


def record_failed_sign_in(session: Session, reason: str, client: ClientInfo) -> None:
    _audit(session, None, "account.sign_in_failed", client, reason=reason)


# --- Sessions --------------------------------------------------------------------------------


def start_session(
    session: Session,
    user: User,
    settings: Settings,
    client: ClientInfo,
    *,
    method: str,
    replacing: str | None = None,
) -> str:
    """Signs in: a fresh session id every time (the old one, if any, is revoked)."""
    if replacing:
        revoke_session(session, replacing)
    token = new_secret()
    now = utcnow()
    session.add(
        UserSession(
            token_hash=hash_secret(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            ip=client.ip,
            user_agent=client.user_agent[:300],
        )
    )
    user.last_sign_in_at = now
    _audit(session, user.id, "account.sign_in", client, method=method)
    return token


def user_for_session(session: Session, token: str, settings: Settings) -> User | None:
    now = utcnow()
    row = session.scalars(
        select(UserSession).where(UserSession.token_hash == hash_secret(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at <= now - timedelta(minutes=settings.session_idle_minutes):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        return None
    if now - row.last_seen_at > SESSION_TOUCH_INTERVAL:
        # At most one write a minute per session, in its own statement so a failed request
        # cannot roll it back into a stale idle clock.
        session.execute(
            update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        )
        session.commit()
    return user


def revoke_session(session: Session, token: str) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == hash_secret(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def sign_out(session: Session, token: str, user: User, client: ClientInfo) -> None:
    revoke_session(session, token)
    _audit(session, user.id, "account.sign_out", client)


def sign_out_everywhere(session: Session, user: User, client: ClientInfo) -> int:
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    count = int(getattr(result, "rowcount", 0))
    _audit(session, user.id, "account.sign_out_everywhere", client, sessions=count)
    return count


# --- API tokens ------------------------------------------------------------------------------


def create_api_token(
    session: Session,
    user: User,
    *,
    name: str,
    scope: str,
    days: int,
    settings: Settings,
    client: ClientInfo,
) -> tuple[ApiToken, str]:
    errors = {}
    if not name.strip():
        errors["name"] = _("Give the token a name, so you recognise it later.")
    if scope not in ("read", "write"):
        errors["scope"] = _("Choose read or write.")
    if not 1 <= days <= settings.api_token_max_days:
        errors["days"] = _("Choose between 1 and %(max)s days.", max=settings.api_token_max_days)
    if errors:
        raise ValidationFailed(field_errors=errors)
    raw = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:100],
        prefix=raw[:10],
        token_hash=hash_secret(raw),
        scope=scope,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    _audit(session, user.id, "account.token_created", client, token_id=token.id, scope=scope)
    return token, raw


def user_for_api_token(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_secret(raw))).first()
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is None or user.deleted_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at > SESSION_TOUCH_INTERVAL:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        session.commit()
    return user, token


def revoke_api_token(session: Session, user: User, token_id: int, client: ClientInfo) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        _audit(session, user.id, "account.token_revoked", client, token_id=token.id)


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


# --- Profile and terms -----------------------------------------------------------------------


def needs_terms(user: User, settings: Settings) -> bool:
    return user.terms_version != settings.terms_version


def accept_terms(session: Session, user: User, settings: Settings, client: ClientInfo) -> None:
    user.terms_version = settings.terms_version
    user.terms_accepted_at = utcnow()
    _audit(session, user.id, "account.terms_accepted", client, version=settings.terms_version)


@dataclass
class ProfileInput:
    display_name: str
    bio: str
    skills: str
    links: str
    preferred_locale: str
    attest_eligibility: bool


def update_profile(session: Session, user: User, data: ProfileInput, client: ClientInfo) -> None:
    errors = {}
    if len(data.display_name) > 200:
        errors["display_name"] = _("Use at most 200 characters.")
    if len(data.bio) > 2000:
        errors["bio"] = _("Use at most 2,000 characters.")
    links = [line.strip() for line in data.links.splitlines() if line.strip()]
    if any(not link.startswith(("https://", "http://")) for link in links) or len(links) > 10:
        errors["links"] = _("Up to 10 web addresses, one per line, each starting with https://.")
    if data.preferred_locale not in ("en", "fr"):
        errors["preferred_locale"] = _("Choose English or French.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    user.display_name = data.display_name.strip()
    user.bio = data.bio.strip()
    user.skills = ", ".join(s.strip().lower() for s in data.skills.split(",") if s.strip())[:500]
    user.links = "\n".join(links)
    user.preferred_locale = data.preferred_locale
    if data.attest_eligibility and user.eligibility_attested_at is None:
        user.eligibility_attested_at = utcnow()
    elif not data.attest_eligibility:
        user.eligibility_attested_at = None
    _audit(session, user.id, "account.profile_updated", client)


# --- Security history and privacy ------------------------------------------------------------


def security_history(session: Session, user: User, limit: int = 100) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "user", AuditEvent.subject_id == user.id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


def export_data(session: Session, user: User) -> dict[str, Any]:
    """Everything we hold about the person, as they would want to download it."""
    memberships = session.execute(
        select(TeamMembership.team_id, TeamMembership.role).where(TeamMembership.user_id == user.id)
    ).all()
    sessions = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    return {
        "profile": {
            "github_id": user.github_id,
            "login": user.login,
            "name": user.name,
            "email": user.email,
            "display_name": user.display_name,
            "bio": user.bio,
            "skills": user.skills,
            "links": user.links.splitlines(),
            "preferred_locale": user.preferred_locale,
            "eligibility_attested_at": _iso(user.eligibility_attested_at),
            "terms_version": user.terms_version,
            "terms_accepted_at": _iso(user.terms_accepted_at),
            "created_at": _iso(user.created_at),
        },
        "team_roles": [{"team_id": team_id, "role": role} for team_id, role in memberships],
        "sessions": [
            {
                "created_at": _iso(s.created_at),
                "last_seen_at": _iso(s.last_seen_at),
                "ip": s.ip,
                "user_agent": s.user_agent,
                "revoked": s.revoked_at is not None,
            }
            for s in sessions
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "scope": t.scope,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "revoked": t.revoked_at is not None,
            }
            for t in tokens_of(session, user)
        ],
        "security_history": [
            {"at": _iso(e.occurred_at), "action": e.action, "ip": e.ip}
            for e in security_history(session, user, limit=1000)
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def delete_account(session: Session, user: User, client: ClientInfo) -> None:
    """Removes what identifies the person; keeps the row (and its numeric id) for payments and
    the audit trail, which must still add up."""
    _audit(session, user.id, "account.deleted", client)
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.execute(delete(TeamMembership).where(TeamMembership.user_id == user.id))
    user.login = f"deleted-{user.id}"
    user.name = ""
    user.email = None
    user.email_verified = False
    user.avatar_url = ""
    user.display_name = ""
    user.bio = ""
    user.skills = ""
    user.links = ""
    user.deleted_at = utcnow()
