"""Sending mail over SMTP, for notifications and the send_mail service task."""
from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from ..settings import Settings


class MailError(Exception):
    """Mail could not be sent; `transient` says whether trying again later may help."""

    def __init__(self, message: str, transient: bool):
        super().__init__(message)
        self.transient = transient


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send_mail(settings: Settings, to: list[str] | str, subject: str, body: str) -> str:
    """Send a plain-text mail; returns its Message-ID. Raises MailError."""
    recipients = [to] if isinstance(to, str) else list(to)
    recipients = [r.strip() for r in recipients if r and r.strip()]
    if not recipients:
        raise MailError("no recipient address", transient=False)
    if not mail_configured(settings):
        raise MailError("no SMTP server is configured (SAGSGANG_SMTP_HOST)", transient=False)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.http_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except smtplib.SMTPResponseException as err:  # 4xx: try later; 5xx: the server refuses for good
        raise MailError(f"SMTP server answered {err.smtp_code}: {err.smtp_error!r}",
                        transient=400 <= err.smtp_code < 500) from err
    except smtplib.SMTPRecipientsRefused as err:
        raise MailError(f"SMTP server refused the recipients {sorted(err.recipients)}", transient=False) from err
    except (smtplib.SMTPException, OSError, socket.timeout) as err:
        raise MailError(f"SMTP server {settings.smtp_host}:{settings.smtp_port} not reachable: {err}",
                        transient=True) from err
    return message["Message-ID"]
