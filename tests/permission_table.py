"""Who may call each route: written by hand from DESIGN.md and the README's access rules, and
reviewed row by row against what each page is for. It is NOT read from the code's declarations:
tests/test_permissions.py fails when a route has no row here, when a row names a route that is
gone, and when a route's declared or observed access differs from its row. So every change of
access is a change to this file, and is seen in review.

"Allowed" means the door opens: the answer is not 401 or 403. Behind the door the service may
still answer 404 for what is not the caller's (someone else's proposal, another team's draft,
a draft nobody asked this person to review); those rules have tests of their own.

The personas, as tests/test_permissions.py builds them: the team is the one that posted the work
(or is named by the path), and each of its members holds exactly one role in it.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

ANONYMOUS = "anonymous"
DEVELOPER = "developer"  # signed in, in no team
OTHER_TEAM = "other_team"  # the owner of another team
EVALUATOR = "evaluator"
EDITOR = "editor"
OWNER = "owner"
FINANCE = "finance"
APPROVER = "approver"  # spending authority: signs off publishing and funding, up to a limit
ADMIN = "admin"  # a platform administrator, in no team
PERSONAS = (ANONYMOUS, DEVELOPER, OTHER_TEAM, EVALUATOR, EDITOR, OWNER, FINANCE, APPROVER, ADMIN)

EVERYONE = frozenset(PERSONAS)
SIGNED_IN = EVERYONE - {ANONYMOUS}
# Webhooks: a signature over the body opens them, never a person.
NOBODY: frozenset[str] = frozenset()
ADMIN_ONLY = frozenset({ADMIN})
THE_TEAM = frozenset({EVALUATOR, EDITOR, OWNER, FINANCE, APPROVER})
# Anyone signed in who is not a member of the team that posted the work: those who propose,
# ask questions, review another team's draft and accept an award.
NOT_THE_TEAM = SIGNED_IN - THE_TEAM
# The team members who write and edit opportunities, answer questions and handle peer review.
AUTHORS = frozenset({EDITOR, OWNER})

ROUTES: dict[str, AbstractSet[str]] = {
    # --- the public site: everything that is not private is public -------------------------------
    "GET /": EVERYONE,
    "GET /healthz": EVERYONE,
    "GET /readyz": EVERYONE,
    "GET /opportunities": EVERYONE,
    "GET /opportunities.atom": EVERYONE,
    # A draft answers 404 to everyone outside its team (not a refusal).
    "GET /opportunities/{opportunity_id}": EVERYONE,
    "GET /teams": EVERYONE,
    "GET /teams/{slug}": EVERYONE,
    "GET /teams/{slug}/projects/{project_slug}": EVERYONE,
    "GET /opendata": EVERYONE,
    "GET /opendata/opportunities.json": EVERYONE,
    "GET /opendata/opportunities.csv": EVERYONE,
    "GET /metrics/participation": EVERYONE,
    "GET /metrics/participation.csv": EVERYONE,
    "GET /opendata/awards.json": EVERYONE,
    "GET /opendata/awards.csv": EVERYONE,
    "GET /opendata/payments.json": EVERYONE,
    "GET /opendata/payments.csv": EVERYONE,
    "GET /opendata/addenda.json": EVERYONE,
    "GET /opendata/addenda.csv": EVERYONE,
    "GET /opendata/dictionary.json": EVERYONE,
    "GET /data.json": EVERYONE,
    "GET /code.json": EVERYONE,
    "GET /teams/{slug}/code.json": EVERYONE,
    "GET /api/v1/openapi.json": EVERYONE,
    "GET /api/v1/docs": EVERYONE,
    "GET /api/v1/opportunities": EVERYONE,
    "GET /api/v1/opportunities/{opportunity_id}": EVERYONE,
    # The award notice (winner, price, score) is public once there is one.
    "GET /api/v1/opportunities/{opportunity_id}/award": EVERYONE,
    "GET /api/v1/opportunities/{opportunity_id}/addenda": EVERYONE,
    "GET /api/v1/teams": EVERYONE,
    "GET /api/v1/teams/{slug}": EVERYONE,
    # --- signing in and out; one's own account ---------------------------------------------------
    "GET /sign-in": EVERYONE,
    "GET /auth/github/start": EVERYONE,
    "GET /auth/github/callback": EVERYONE,
    # Local only (404 in production): signs in as a demo person, so it must be open.
    "GET /demo-sign-in": EVERYONE,
    "POST /demo-sign-in": EVERYONE,
    "POST /sign-out": SIGNED_IN,
    "POST /account/sign-out-everywhere": SIGNED_IN,
    "GET /account": SIGNED_IN,
    "POST /account": SIGNED_IN,
    "GET /account/terms": SIGNED_IN,
    "POST /account/terms": SIGNED_IN,
    "GET /account/security": SIGNED_IN,
    "GET /account/tokens": SIGNED_IN,
    "POST /account/tokens": SIGNED_IN,
    "POST /account/tokens/{token_id}/revoke": SIGNED_IN,
    "GET /account/data.json": SIGNED_IN,
    "GET /account/delete": SIGNED_IN,
    "POST /account/delete": SIGNED_IN,
    "GET /api/v1/me": SIGNED_IN,
    "GET /notifications": SIGNED_IN,
    "POST /notifications/read": SIGNED_IN,
    # One-click unsubscribe from an email (RFC 8058): the token in the link is the authority.
    "GET /unsubscribe/{token}": EVERYONE,
    "POST /unsubscribe/{token}": EVERYONE,
    # Email subscriptions need no account: the signed links in the emails are the keys.
    "GET /subscribe": EVERYONE,
    "POST /subscribe": EVERYONE,
    "GET /subscribe/sent": EVERYONE,
    "GET /subscriptions/confirm/{token}": EVERYONE,
    "POST /subscriptions/confirm/{token}": EVERYONE,
    "GET /subscriptions/unsubscribe/{token}": EVERYONE,
    "POST /subscriptions/unsubscribe/{token}": EVERYONE,
    # A developer's own payout account (Stripe Connect onboarding).
    "GET /account/payouts": SIGNED_IN,
    "POST /account/payouts/connect": SIGNED_IN,
    "GET /account/payouts/return": SIGNED_IN,
    # One's own work lists ("My work", "Needs you"): each shows only the caller's own items.
    "GET /my-work": SIGNED_IN,
    "GET /needs-you": SIGNED_IN,
    "GET /api/v1/me/work": SIGNED_IN,
    "GET /api/v1/me/needs-you": SIGNED_IN,
    # --- teams -----------------------------------------------------------------------------------
    # Anyone may ask for a team; one without a government email waits for an administrator.
    "GET /teams/new": SIGNED_IN,
    "POST /teams/new": SIGNED_IN,
    # The owner manages the members.
    "GET /teams/{slug}/members": {OWNER},
    "POST /teams/{slug}/invitations": {OWNER},
    "POST /teams/{slug}/members/{user_id}": {OWNER},
    "GET /teams/{slug}/settings": {OWNER},
    # The team's GitHub App installations and what they reach; those who link issues connect
    # repositories; anyone signed in comes back from GitHub's install page (the signed state
    # then names the team and the person, checked behind the door).
    "GET /teams/{slug}/github": THE_TEAM,
    "GET /teams/{slug}/github/install": AUTHORS,
    "GET /github/app/setup": SIGNED_IN,
    "POST /teams/{slug}/settings": {OWNER},
    "GET /api/v1/teams/{slug}/settings": {OWNER},
    "PUT /api/v1/teams/{slug}/settings": {OWNER},
    "GET /api/v1/teams/{slug}/members": {OWNER},
    "PUT /api/v1/teams/{slug}/members/{github_id}": {OWNER},
    "POST /teams/{slug}/leave": THE_TEAM,
    # The emailed invitation: the link is readable by whoever holds it, accepted once signed in.
    "GET /invitations/{token}": EVERYONE,
    "POST /invitations/{token}": SIGNED_IN,
    # --- writing, publishing and cancelling opportunities ----------------------------------------
    "GET /teams/{slug}/opportunities/new": AUTHORS,
    "POST /teams/{slug}/opportunities/new": AUTHORS,
    "POST /api/v1/teams/{slug}/opportunities": AUTHORS,
    "GET /opportunities/{opportunity_id}/edit": AUTHORS,
    "POST /opportunities/{opportunity_id}/edit": AUTHORS,
    # Publishing is an approver's sign-off (DESIGN: "team approval"; issue 16: spending
    # authority). An owner publishes only if they also hold the approver role; the service
    # refuses the draft's own author.
    "POST /opportunities/{opportunity_id}/publish": {APPROVER},
    "POST /api/v1/opportunities/{opportunity_id}/publish": {APPROVER},
    "POST /opportunities/{opportunity_id}/cancel": {OWNER},
    "POST /api/v1/opportunities/{opportunity_id}/cancel": {OWNER},
    "POST /opportunities/{opportunity_id}/addenda": AUTHORS,
    "POST /api/v1/opportunities/{opportunity_id}/addenda": AUTHORS,
    # --- questions: developers ask, the team answers in public -----------------------------------
    "POST /opportunities/{opportunity_id}/questions": NOT_THE_TEAM,
    "POST /api/v1/opportunities/{opportunity_id}/questions": NOT_THE_TEAM,
    "POST /questions/{question_id}/answer": AUTHORS,
    "POST /api/v1/questions/{question_id}/answer": AUTHORS,
    # --- peer review of drafts by public servants of other teams ---------------------------------
    "POST /opportunities/{opportunity_id}/peer-review": AUTHORS,
    "POST /api/v1/opportunities/{opportunity_id}/peer-review": AUTHORS,
    "POST /opportunities/{opportunity_id}/peer-review/end": AUTHORS,
    # The queue of drafts to review; it explains to a developer that it is for public servants.
    "GET /reviews": SIGNED_IN,
    "GET /api/v1/reviews": SIGNED_IN,
    # Outside the team; the service answers 404 unless this person was asked (a verified public
    # servant, or named).
    "GET /opportunities/{opportunity_id}/review": NOT_THE_TEAM,
    "POST /opportunities/{opportunity_id}/review": NOT_THE_TEAM,
    "POST /api/v1/opportunities/{opportunity_id}/review": NOT_THE_TEAM,
    "POST /reviews/{review_id}/reply": AUTHORS,
    # --- proposals: the team that posted the work cannot propose ---------------------------------
    "GET /opportunities/{opportunity_id}/proposal": NOT_THE_TEAM,
    "POST /opportunities/{opportunity_id}/proposal": NOT_THE_TEAM,
    "POST /opportunities/{opportunity_id}/proposal/withdraw": NOT_THE_TEAM,
    "GET /api/v1/opportunities/{opportunity_id}/proposal": NOT_THE_TEAM,
    "PUT /api/v1/opportunities/{opportunity_id}/proposal": NOT_THE_TEAM,
    "POST /api/v1/opportunities/{opportunity_id}/proposal/withdraw": NOT_THE_TEAM,
    # Its author before the deadline, the team's evaluators without a conflict after it: the
    # service answers 404 to everyone else (whether it exists is itself private).
    "GET /proposals/{proposal_id}": SIGNED_IN,
    "GET /api/v1/proposals/{proposal_id}": SIGNED_IN,
    # --- evaluation and award --------------------------------------------------------------------
    # Evaluators score; the owner awards from the ranking (after the deadline only: issue 13, 5).
    "GET /opportunities/{opportunity_id}/evaluation": {EVALUATOR, OWNER},
    "GET /api/v1/opportunities/{opportunity_id}/consensus": {EVALUATOR, OWNER},
    # The evaluation page's facts in JSON (issue 16): proposals as A, B, ... to evaluators; the
    # evaluators' declarations to the owner.
    "GET /api/v1/opportunities/{opportunity_id}/evaluation": {EVALUATOR, OWNER},
    "POST /opportunities/{opportunity_id}/evaluation/declaration": {EVALUATOR},
    "POST /api/v1/opportunities/{opportunity_id}/declaration": {EVALUATOR},
    "GET /proposals/{proposal_id}/evaluation": {EVALUATOR},
    "POST /proposals/{proposal_id}/evaluation": {EVALUATOR},
    "PUT /api/v1/proposals/{proposal_id}/scores": {EVALUATOR},
    "POST /proposals/{proposal_id}/disqualify": {EVALUATOR},
    "POST /api/v1/proposals/{proposal_id}/disqualify": {EVALUATOR},
    "POST /opportunities/{opportunity_id}/award": {OWNER},
    "POST /api/v1/opportunities/{opportunity_id}/award": {OWNER},
    # The winner accepts the contract; the service refuses anyone but the awardee.
    "POST /opportunities/{opportunity_id}/award/accept": NOT_THE_TEAM,
    "POST /api/v1/opportunities/{opportunity_id}/award/accept": NOT_THE_TEAM,
    # The awardee names co-authors who share the payment (anyone else gets 404 behind it).
    "GET /opportunities/{opportunity_id}/co-authors": NOT_THE_TEAM,
    "POST /opportunities/{opportunity_id}/co-authors": NOT_THE_TEAM,
    "PUT /api/v1/opportunities/{opportunity_id}/co-authors": NOT_THE_TEAM,
    "POST /opportunities/{opportunity_id}/reopen": {OWNER},
    "POST /opportunities/{opportunity_id}/close-unsuccessful": {OWNER},
    # --- delivery (issue 16): the contract's date, check-ins, and the owner's choices -------------
    # The team and the current awardee read the contract; the service answers 404 to the rest.
    "GET /opportunities/{opportunity_id}/delivery": SIGNED_IN,
    "GET /api/v1/opportunities/{opportunity_id}/delivery": SIGNED_IN,
    # The awardee checks in (never a team member); the service refuses anyone but the awardee.
    "POST /opportunities/{opportunity_id}/delivery/check-ins": NOT_THE_TEAM,
    "POST /api/v1/opportunities/{opportunity_id}/delivery/check-ins": NOT_THE_TEAM,
    # Extending, awarding the next-ranked proposal and closing with a refund: the owner, who
    # awards and cancels.
    "POST /opportunities/{opportunity_id}/delivery/extend": {OWNER},
    "POST /api/v1/opportunities/{opportunity_id}/delivery/extend": {OWNER},
    "POST /opportunities/{opportunity_id}/delivery/award-next": {OWNER},
    "POST /api/v1/opportunities/{opportunity_id}/delivery/award-next": {OWNER},
    "POST /opportunities/{opportunity_id}/delivery/close": {OWNER},
    "POST /api/v1/opportunities/{opportunity_id}/delivery/close": {OWNER},
    # The team's days without activity before a warning: a setting, like the others, owners'.
    "GET /teams/{slug}/settings/delivery": {OWNER},
    "POST /teams/{slug}/settings/delivery": {OWNER},
    "GET /api/v1/teams/{slug}/delivery-settings": {OWNER},
    "PUT /api/v1/teams/{slug}/delivery-settings": {OWNER},
    # --- money: an approver signs off, the team's finance role funds; administrators oversee ----
    # The funding page shows the amount to sign off to the approvers, the payment to finance.
    "GET /opportunities/{opportunity_id}/funding": {FINANCE, APPROVER},
    "POST /opportunities/{opportunity_id}/funding/sign-off": {APPROVER},
    "POST /api/v1/opportunities/{opportunity_id}/funding/sign-off": {APPROVER},
    # The record of sign-offs (who, when, what amount) is the team's, like its drafts.
    "GET /api/v1/opportunities/{opportunity_id}/sign-offs": THE_TEAM,
    "POST /opportunities/{opportunity_id}/funding": {FINANCE},
    "GET /opportunities/{opportunity_id}/funding/return": {FINANCE},
    "GET /opportunities/{opportunity_id}/funding/simulated-checkout": {FINANCE},
    "POST /opportunities/{opportunity_id}/funding/simulated-checkout": {FINANCE},
    # Local only: stands in for the awardee's merged pull request (README, "try pay on pull").
    "POST /opportunities/{opportunity_id}/simulate-merge": AUTHORS,
    "GET /opportunities/{opportunity_id}/money": {FINANCE, ADMIN},
    "GET /api/v1/opportunities/{opportunity_id}/payout": {FINANCE, ADMIN},
    # For the team's finance people, administrators and the developer paid: the service answers
    # 404 to everyone else.
    "GET /opportunities/{opportunity_id}/payment-record": SIGNED_IN,
    # --- administrators --------------------------------------------------------------------------
    "GET /admin": ADMIN_ONLY,
    "POST /admin/teams/{slug}/approve": ADMIN_ONLY,
    # Failed jobs name tasks and queues: for the administrators who act on them.
    "GET /admin/jobs": ADMIN_ONLY,
    # The needs-attention queue shows hold reasons, GitHub ids and evidence: administrators only.
    "GET /admin/attention": ADMIN_ONLY,
    "POST /admin/attention/{opportunity_id}/release": ADMIN_ONLY,
    "POST /admin/attention/{opportunity_id}/refund": ADMIN_ONLY,
    "POST /admin/attention/{opportunity_id}/dismiss": ADMIN_ONLY,
    "POST /admin/attention/{opportunity_id}/retry-transfer": ADMIN_ONLY,
    # Claims about delivery: anyone signed in reaches the door; the service shows and lets open
    # a claim only to the contract's two sides (the awardee, the team's owner and finance) and
    # administrators, and answers 404 to anyone else. Resolving takes administrators.
    "GET /opportunities/{opportunity_id}/claims": SIGNED_IN,
    "POST /opportunities/{opportunity_id}/claims": SIGNED_IN,
    "GET /api/v1/opportunities/{opportunity_id}/claims": SIGNED_IN,
    "POST /api/v1/opportunities/{opportunity_id}/claims": SIGNED_IN,
    "GET /admin/claims/{claim_id}": ADMIN_ONLY,
    "POST /admin/claims/{claim_id}/propose": ADMIN_ONLY,
    "POST /admin/claims/{claim_id}/confirm": ADMIN_ONLY,
    "POST /api/v1/claims/{claim_id}/propose": ADMIN_ONLY,
    "POST /api/v1/claims/{claim_id}/confirm": ADMIN_ONLY,
    # --- webhooks --------------------------------------------------------------------------------
    "POST /webhooks/github": NOBODY,
    "POST /webhooks/stripe": NOBODY,
    "POST /webhooks/stripe/connect": NOBODY,
}
