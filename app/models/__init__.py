"""All models, imported here so Alembic and the app see one complete metadata."""

from app.models.account import ApiToken, OAuthState, TeamInvitation, UserSession
from app.models.audit import AuditEvent
from app.models.base import Base
from app.models.opportunity import Opportunity, OpportunitySkill, OpportunityState
from app.models.team import Project, Team, TeamMembership, TeamRole
from app.models.user import User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "OAuthState",
    "Opportunity",
    "OpportunitySkill",
    "OpportunityState",
    "Project",
    "Team",
    "TeamInvitation",
    "TeamMembership",
    "TeamRole",
    "User",
    "UserSession",
]
