"""Sending email: SMTP when DEVEX_SMTP_URL is set, otherwise printed to the console (local runs).

Callers send after their transaction commits, so a failed send never undoes the change; they
decide what the person sees when it fails.
"""

from __future__ import annotations

import smtplib
import sys
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import structlog

from app.config import Settings
from app.i18n import gettext as _
from app.i18n import using_locale

log = structlog.get_logger("devex.email")
MAX_RETRY_DELAY = timedelta(hours=1)


class EmailNotSent(Exception):
    """The mail server refused or could not be reached; the caller keeps the message."""


class AddressRefused(EmailNotSent):
    """The mail server refused this recipient for good (a bounce): trying again will not help,
    and other messages are not affected."""


def send_email(
    settings: Settings, to: str, subject: str, body: str, headers: dict[str, str] | None = None
) -> None:
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = to
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    smtp_url = settings.smtp_url.get_secret_value()
    if not smtp_url:
        # The console backend: a local run shows the message, links included, on stderr. It is
        # not a log line (logs never carry links with tokens), and production requires SMTP.
        sys.stderr.write(
            f"\n--- email (console backend) ---\nTo: {to}\nSubject: {subject}\n\n{body}\n"
            "--- end of email ---\n"
        )
        return
    url = urlparse(smtp_url)
    try:
        smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_class(url.hostname or "localhost", url.port or 25, timeout=10) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        # 5xx is final (no such mailbox); 4xx is "try later" (greylisting, a full mailbox).
        if all(code >= 500 for code, _reason in exc.recipients.values()):
            log.warning("email address refused", subject=subject)
            raise AddressRefused(type(exc).__name__) from exc
        raise EmailNotSent(type(exc).__name__) from exc
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("email not sent", error=type(exc).__name__, subject=subject)
        raise EmailNotSent(type(exc).__name__) from exc


def send_unsubscribable(
    settings: Settings,
    to: str,
    subject: str,
    body: str,
    unsubscribe_url: str,
    locale: str,
) -> None:
    """An email that may be stopped: the link in its footer, and the RFC 8058 one-click headers
    that mail clients show as an "Unsubscribe" button (they post to the same link)."""
    with using_locale(locale):
        footer = _("Stop these emails: %(link)s", link=unsubscribe_url)
    send_email(
        settings,
        to,
        subject,
        f"{body}\n\n--\n{footer}\n",
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def retry_delay(attempts: int) -> timedelta:
    """How long an email waits after its n-th failed attempt: doubling from two minutes, at
    most an hour, so a mail server that is away for long is not hammered."""
    return min(timedelta(minutes=2 ** min(attempts, 10)), MAX_RETRY_DELAY)
