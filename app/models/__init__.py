"""All models, imported here so Alembic and the app see one complete metadata."""

from app.models.account import ApiToken, OAuthState, TeamInvitation, UserSession
from app.models.audit import AuditEvent
from app.models.base import Base
from app.models.claim import Claim, ClaimSide, ClaimState, Resolution
from app.models.delivery import CheckIn, CheckInSource, PayoutAdjustment
from app.models.installation import GitHubInstallation, InstalledRepository
from app.models.notification import Addendum, EmailOptOut, EmailState, Notification, Question
from app.models.opportunity import Opportunity, OpportunitySkill, OpportunityState
from app.models.payment import (
    CoAuthorShare,
    DisputeStatus,
    IssueComment,
    LedgerEntry,
    Payout,
    PayoutAccount,
    PayoutState,
    PayoutTransfer,
    StripeEvent,
    TransferState,
)
from app.models.proposal import (
    Award,
    ConflictDeclaration,
    EvaluationSubmission,
    Proposal,
    ProposalState,
    RubricCriterion,
    Score,
)
from app.models.review import Review, ReviewRequest
from app.models.subscription import (
    Frequency,
    Subscription,
    SubscriptionEmail,
    SubscriptionState,
)
from app.models.team import (
    Project,
    SignoffPurpose,
    SpendingSignoff,
    Team,
    TeamMembership,
    TeamRole,
)
from app.models.user import User
from app.models.webhook import InboxStatus, Outcome, WebhookDelivery

__all__ = [
    "Addendum",
    "ApiToken",
    "AuditEvent",
    "Award",
    "Base",
    "CheckIn",
    "CheckInSource",
    "Claim",
    "ClaimSide",
    "ClaimState",
    "CoAuthorShare",
    "ConflictDeclaration",
    "DisputeStatus",
    "EmailOptOut",
    "EmailState",
    "EvaluationSubmission",
    "Frequency",
    "GitHubInstallation",
    "InboxStatus",
    "InstalledRepository",
    "IssueComment",
    "LedgerEntry",
    "Notification",
    "OAuthState",
    "Opportunity",
    "OpportunitySkill",
    "OpportunityState",
    "Outcome",
    "Payout",
    "PayoutAccount",
    "PayoutAdjustment",
    "PayoutState",
    "PayoutTransfer",
    "Project",
    "Proposal",
    "ProposalState",
    "Question",
    "Resolution",
    "Review",
    "ReviewRequest",
    "RubricCriterion",
    "Score",
    "SignoffPurpose",
    "SpendingSignoff",
    "StripeEvent",
    "Subscription",
    "SubscriptionEmail",
    "SubscriptionState",
    "Team",
    "TeamInvitation",
    "TeamMembership",
    "TeamRole",
    "TransferState",
    "User",
    "UserSession",
    "WebhookDelivery",
]
