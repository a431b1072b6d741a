"""The `email` kind against a real SMTP server (aiosmtpd) and its default outbox (issue #5).

The SMTP server wants STARTTLS (with a certificate from a throwaway CA the job
server trusts through SSL_CERT_FILE) and a login, refuses one recipient and drops
the connection at another; the batch records each and goes on.
"""

import email
import email.policy
import ssl

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.conftest import free_port, start_job, start_server, wait_for_state

USER, PASSWORD = "mailer", "s3cret"


class Mailbox:
    """An aiosmtpd handler keeping what it accepted; `refuse@` is refused, `drop@` hangs up."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse@"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("drop@"):
            server.transport.close()
            return "421 closing"  # never arrives: the connection is gone
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


def login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=(auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode()))


@pytest.fixture(scope="module")
def authority():
    return trustme.CA()


@pytest.fixture(scope="module")
def mailbox(authority):
    box = Mailbox()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), tls_context=tls,
                            require_starttls=True, auth_required=True, authenticator=login)
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory, mailbox, authority):
    folder = tmp_path_factory.mktemp("email")
    authority.cert_pem.write_to_path(str(folder / "ca.pem"))
    server = start_server(folder, {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port), "SMTP_STARTTLS": "1",
        "SMTP_USERNAME": USER, "SMTP_PASSWORD": PASSWORD, "SMTP_SENDER": "reports@example.com",
        "SSL_CERT_FILE": str(folder / "ca.pem")})
    yield server
    server.stop()


def test_a_batch_records_a_bad_address_a_refusal_and_a_dropped_connection_and_goes_on(smtp_server, mailbox):
    client = smtp_server.client()
    recipients = ["Ann <ann@example.com>", "not an address", "refuse@example.com",
                  "drop@example.com", "bob@example.com"]
    job = start_job(client, "email", recipients=recipients, subject="Hi $name",
                    body="Dear $name, this went to $email.")
    assert job["progress"]["total"] == 5
    finished = wait_for_state(client, job["id"], {"succeeded", "failed"}, timeout=30)
    assert finished["state"] == "succeeded", finished["error"]
    assert finished["progress"]["message"] == "2 sent, 3 failed"
    assert finished["failed_items"] == {"failed": 3, "of": 5}  # shown as a warning, never plain green
    result = client.get(finished["result"]["url"]).json()
    assert result["retried"] == ["drop@example.com"]  # the dropped connection, tried again; never the refusal
    assert [sent["to"] for sent in result["sent"]] == ["Ann <ann@example.com>", "bob@example.com"]
    failed = {failure["to"]: failure["error"] for failure in result["failed"]}
    assert failed["not an address"] == "not an e-mail address"
    assert failed["refuse@example.com"] == "refused by the server: 550 5.1.1 No such mailbox"
    assert failed["drop@example.com"].startswith("SMTPServerDisconnected")
    received = {message["To"]: message for message in mailbox.messages}
    assert received["Ann <ann@example.com>"]["Subject"] == "Hi Ann"
    assert received["Ann <ann@example.com>"]["From"] == "reports@example.com"
    assert received["bob@example.com"]["Subject"] == "Hi bob"
    assert received["bob@example.com"].get_content().strip() == "Dear bob, this went to bob@example.com."


def test_each_recipient_entry_is_one_address_and_no_header_holds_a_line_break(smtp_server, mailbox):
    """Issue 15: the entry "ann@…, eve@…" sent to both; a subject ending in a newline ended the headers."""
    client = smtp_server.client()
    before = len(mailbox.messages)
    two_in_one = start_job(client, "email", recipients=["ann@example.com, eve@evil.test", "carl@example.com"])
    broken_subject = start_job(client, "email", recipients=["dora@example.com"], subject="Hi $name\n")
    finished = wait_for_state(client, two_in_one["id"], {"succeeded", "failed"}, timeout=30)
    assert client.get(finished["result"]["url"]).json() == {
        "sent": [{"to": "carl@example.com", "smtp": f"127.0.0.1:{mailbox.port}"}],
        "failed": [{"to": "ann@example.com, eve@evil.test", "error": "not an e-mail address"}], "retried": []}
    nothing_sent = wait_for_state(client, broken_subject["id"], {"succeeded", "failed"}, timeout=30)
    assert (nothing_sent["state"], nothing_sent["error"]) == (
        "failed", "All 1 items failed; the first: dora@example.com: the subject holds a line break")
    assert [message["To"] for message in mailbox.messages[before:]] == ["carl@example.com"]


@pytest.mark.parametrize("params, field", [
    ({}, "params.recipients"),
    ({"recipients": []}, "params.recipients"),
    ({"recipients": ["a@example.com"], "subject": "two\nlines"}, "params.subject"),
    ({"recipients": ["a@example.com"] * 1001}, "params.recipients"),
])
def test_bad_email_params_are_refused_naming_the_param(client, params, field):
    response = client.post("/api/jobs", json={"kind": "email", "params": params})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_params"
    assert field in response.json()["error"]["message"]


def test_with_no_smtp_server_each_message_is_an_eml_file_named_by_its_path_in_the_data_folder(server, client):
    """The shared server has no SMTP settings and a data folder of its own (DATA_DIR)."""
    job = start_job(client, "email", recipients=["Zoë <zoe@example.com>", "max@example.com"])
    finished = wait_for_state(client, job["id"], {"succeeded", "failed"})
    result = client.get(finished["result"]["url"]).json()
    assert result["failed"] == []
    assert [sent["file"] for sent in result["sent"]] == [f"outbox/{job['id']}-1.eml", f"outbox/{job['id']}-2.eml"]
    message = email.message_from_bytes((server.data_dir / result["sent"][0]["file"]).read_bytes(),
                                       policy=email.policy.default)
    assert message["Subject"] == "Hello, Zoë"
    assert message["To"] == "Zoë <zoe@example.com>"
