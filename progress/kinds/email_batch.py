"""`email`: a personalised message to each of a list of recipients, through SMTP or to an outbox.

One failure never stops the batch: a bad address, a refused recipient or a dropped
connection is recorded with its reason and the next recipient is tried. A failure that
may pass (a dropped connection, a 4xx answer) is retried for that recipient alone, never
the whole batch. A batch whose every message failed fails; one where some failed
succeeds with the count (`ctx.tally_items`). Settings (SMTP_HOST and friends) choose SMTP;
without them messages become `.eml` files.
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.headerregistry import Address
from email.utils import formatdate, getaddresses, make_msgid
from string import Template

from ..context import JobContext
from ..registry import job_kind
from .environment import config
from .mailers import OutboxMailer, SmtpMailer

ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+$")
"""A plain `local@domain`: strict on purpose, an odd address is better refused than guessed."""

ITEM_RETRIES = 2
"""Tries after the first for one recipient whose failure may pass."""

ITEM_BACKOFF_S = 0.5
"""Wait before a recipient's second try; each later one waits twice as long."""

LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
"""What Python's e-mail package or a mail server may take for the end of a header line."""


@job_kind(
    "email",
    title="Send e-mail",
    description="Sends a personalised message to each recipient ($name and $email are filled in) "
                "through SMTP, or writes .eml files to an outbox when no SMTP server is set.",
    params={
        "recipients": {"type": "array", "minItems": 1, "maxItems": 1000,
                       "items": {"type": "string", "minLength": 1, "maxLength": 320},
                       "description": "Addresses, each `ann@example.com` or `Ann <ann@example.com>`."},
        "subject": {"type": "string", "maxLength": 200, "pattern": "^[^\r\n]*$",
                    "default": "Hello, $name"},
        "body": {"type": "string", "maxLength": 20000,
                 "default": "Hello $name,\n\nYour report is ready.\n"},
    },
    total=lambda params: len(params["recipients"]),
)
def email(ctx: JobContext, recipients: list[str], subject: str, body: str) -> dict:
    settings = config()
    mailer = (SmtpMailer(settings.smtp) if settings.smtp
              else OutboxMailer(settings.folder("outbox"), settings.data_dir))
    sent: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    retried: list[str] = []
    finished = False
    try:
        for number, recipient in enumerate(recipients, 1):
            delivery = Delivery(mailer)
            try:
                message = compose(settings.sender, recipient, subject, body)
                sent.append({"to": recipient, **delivery.send(ctx, message)})
            except (ValueError, smtplib.SMTPException, OSError) as error:
                failed.append({"to": recipient, "error": reason(error)})
            if delivery.tries > 1:
                retried.append(recipient)
            ctx.report(number, message=f"{len(sent)} sent, {len(failed)} failed")
        finished = True
    finally:
        mailer.close(polite=finished)
    first = f"{failed[0]['to']}: {failed[0]['error']}" if failed else None
    ctx.tally_items(len(failed), len(recipients), first)
    return {"sent": sent, "failed": failed, "retried": retried}


class Delivery:
    """One recipient's message, tried again after a back-off while its failure may pass."""

    def __init__(self, mailer: OutboxMailer | SmtpMailer) -> None:
        self.mailer = mailer
        self.tries = 0

    def send(self, ctx: JobContext, message: EmailMessage) -> dict[str, str]:
        while True:
            self.tries += 1
            try:
                return self.mailer.deliver(ctx, message)
            except (smtplib.SMTPException, OSError) as error:
                if self.tries > ITEM_RETRIES or not may_pass(error):
                    raise
            ctx.sleep(ITEM_BACKOFF_S * 2 ** (self.tries - 1))


def may_pass(error: Exception) -> bool:
    """A dropped connection or a 4xx ("try again later") answer; a 5xx refusal is final."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, (smtplib.SMTPServerDisconnected, OSError))


def compose(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    """The message for one recipient; `ValueError` if the entry is not exactly one address, or
    a header would hold a line break (which would end the header block early, issue 15)."""
    name, address = one_address(recipient)
    fields = {"name": name or address.split("@")[0], "email": address}
    headers = {"From": sender, "Subject": Template(subject).safe_substitute(fields)}
    for header, value in headers.items():
        if LINE_BREAK.search(value):
            raise ValueError(f"the {header.lower()} holds a line break")
    message = EmailMessage()
    message["From"] = headers["From"]
    message["To"] = Address(display_name=name, addr_spec=address)  # made from the one address, never the raw entry
    message["Subject"] = headers["Subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(Template(body).safe_substitute(fields))
    return message


def one_address(entry: str) -> tuple[str, str]:
    """The display name and address of an entry holding exactly one address (`ann@example.com`
    or `Ann <ann@example.com>`): `ann@example.com, eve@evil.test` is refused, not half-read."""
    found = getaddresses([entry])
    if LINE_BREAK.search(entry) or len(found) != 1 or not ADDRESS.match(found[0][1]):
        raise ValueError("not an e-mail address")
    return found[0]


def reason(error: Exception) -> str:
    """One line saying why a message was not sent, with the server's own words when it gave some."""
    if isinstance(error, ValueError):
        return str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return f"refused by the server: {code} {text.decode(errors='replace')}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the server answered {error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
