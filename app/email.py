"""Sending email: SMTP when DEVEX_SMTP_URL is set, otherwise printed to the console (local runs).

Callers send after their transaction commits, so a failed send never undoes the change; they
decide what the person sees when it fails.
"""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import structlog

from app.config import Settings

log = structlog.get_logger("devex.email")


class EmailNotSent(Exception):
    """The mail server refused or could not be reached; the caller keeps the message."""


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
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("email not sent", error=type(exc).__name__, subject=subject)
        raise EmailNotSent(type(exc).__name__) from exc
