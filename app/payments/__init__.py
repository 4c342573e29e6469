"""Money: payouts, their ledger, payout accounts and the Stripe gateway. Nothing here knows
opportunities' rules or GitHub: how the work reacts to a payout's facts is passed in (see
``service.FollowPayout``)."""
