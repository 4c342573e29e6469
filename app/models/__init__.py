"""All models, imported here so Alembic and the app see one complete metadata."""

from app.models.account import ApiToken, OAuthState, TeamInvitation, UserSession
from app.models.audit import AuditEvent
from app.models.base import Base
from app.models.opportunity import Opportunity, OpportunitySkill, OpportunityState
from app.models.proposal import (
    Award,
    ConflictDeclaration,
    EvaluationSubmission,
    Proposal,
    ProposalState,
    RubricCriterion,
    Score,
)
from app.models.team import Project, Team, TeamMembership, TeamRole
from app.models.user import User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Award",
    "Base",
    "ConflictDeclaration",
    "EvaluationSubmission",
    "OAuthState",
    "Opportunity",
    "OpportunitySkill",
    "OpportunityState",
    "Project",
    "Proposal",
    "ProposalState",
    "RubricCriterion",
    "Score",
    "Team",
    "TeamInvitation",
    "TeamMembership",
    "TeamRole",
    "User",
    "UserSession",
]
