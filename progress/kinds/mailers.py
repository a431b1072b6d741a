"""Where `email` hands its messages: an SMTP server, or `.eml` files in an outbox folder.

SMTP talks over sockets, which gunicorn's gevent worker makes cooperative, so it runs
on the loop; the outbox writes files, so it goes through `ctx.run_blocking`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage

from ..context import JobContext
from .environment import SmtpConfig

SMTP_TIMEOUT_S = 30.0
"""Longest wait for the SMTP server at each step; a cancel still stops the job within a second."""


class OutboxMailer:
    """Writes each message as `<job id>-<n>.eml` in `folder`, so the kind works with no mail server.

    The result names each file by its path inside `data_dir` (`outbox/<job id>-1.eml`): enough
    to find it, without telling a client where the server keeps its files.
    """

    def __init__(self, folder: str, data_dir: str) -> None:
        self.folder = folder
        self.data_dir = data_dir
        self.count = 0

    def deliver(self, ctx: JobContext, message: EmailMessage) -> dict[str, str]:
        self.count += 1
        path = os.path.join(self.folder, f"{ctx.job_id}-{self.count}.eml")
        ctx.run_blocking(_write, path, message.as_bytes())
        return {"file": os.path.relpath(path, self.data_dir)}

    def close(self, polite: bool) -> None:
        """Nothing to close: each file is complete when `deliver` returns."""


class SmtpMailer:
    """One connection for the batch, opened again after the server drops it.

    If opening it fails, every later message fails with the same reason at once:
    without a server nothing can be sent, and retrying each would take a timeout each.
    """

    def __init__(self, settings: SmtpConfig) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._unreachable: Exception | None = None

    def deliver(self, ctx: JobContext, message: EmailMessage) -> dict[str, str]:
        smtp = self._smtp or self._connect()
        try:
            smtp.send_message(message)  # one recipient: refused, it raises
        except (smtplib.SMTPServerDisconnected, OSError):
            self._smtp = None
            smtp.close()
            raise
        return {"smtp": f"{self.settings.host}:{self.settings.port}"}

    def close(self, polite: bool) -> None:
        """QUIT after a finished batch; just drop the socket after a cancel or an error."""
        if self._smtp is None:
            return
        try:
            if polite:
                self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the batch is over: a failed goodbye changes nothing
        finally:
            self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        if self._unreachable is not None:
            raise self._unreachable
        try:
            self._smtp = self._open()
        except (smtplib.SMTPException, OSError) as error:
            self._unreachable = error
            raise
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        settings = self.settings
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_S)
        try:
            if settings.starttls:  # the certificate is checked against `host`
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
        except BaseException:  # a refusal, or the job cancelled meanwhile: never leak the socket
            smtp.close()
            raise
        return smtp


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
