"""context links are web addresses: drop the javascript:, data: and other links the form stored

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.opportunities.service import is_web_address

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_opportunities = sa.table(
    'opportunities', sa.column('id', sa.Integer()), sa.column('context_links', sa.Text())
)


def upgrade() -> None:
    # Until this revision the form saved any line as a link, and the public page put it in an
    # href; only web addresses stay, as the form and the API now require.
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_opportunities.c.id, _opportunities.c.context_links).where(
            _opportunities.c.context_links != ''
        )
    ).all()
    for row_id, links in rows:
        kept = '\n'.join(
            link.strip() for link in links.splitlines() if is_web_address(link.strip())
        )
        if kept != links:
            connection.execute(
                _opportunities.update()
                .where(_opportunities.c.id == row_id)
                .values(context_links=kept)
            )


def downgrade() -> None:
    # The dropped links were never safe to show, and nothing kept them: nothing to put back.
    pass
