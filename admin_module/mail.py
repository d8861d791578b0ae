"""Sending mail over SMTP (host, port, TLS mode, credentials and sender from the settings).

The standard library's client runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

import anyio

from admin_module.settings import Settings

log = logging.getLogger("artstore.admin.mail")


def _send_sync(settings: Settings, message: EmailMessage) -> None:
    if settings.smtp_host is None:
        raise OSError("no SMTP host configured")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_tls == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    with smtp:
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_username and settings.smtp_password is not None:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def send(settings: Settings, *, to: str, subject: str, body: str) -> bool:
    """Send one plain-text mail; False (logged) when no SMTP server is configured or it fails."""
    if not settings.smtp_host:
        log.warning("mail_not_configured", extra={"to": to, "subject": subject})
        return False
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        await anyio.to_thread.run_sync(_send_sync, settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("mail_send_failed", extra={"to": to, "error": repr(exc)})
        return False
    log.info("mail_sent", extra={"to": to, "subject": subject})
    return True
