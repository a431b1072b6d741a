"""Wrong API tokens are rate limited per client address, Bearer and `/signin` alike (issue 15)."""

import pytest

from progress.defaults import FAILED_TOKENS_PER_MINUTE
from tests.owners import client_as, new_tokens, start_secured

TOKENS = new_tokens("alice")


@pytest.fixture
def secured(tmp_path):
    server = start_secured(tmp_path, TOKENS)
    yield server
    server.stop()


def test_past_a_few_wrong_tokens_an_address_waits_and_its_guesses_are_not_even_looked_at(secured):
    guesser = secured.client(headers={"Authorization": "Bearer " + "x" * 43})
    statuses = [guesser.get("/api/jobs").status_code for _ in range(FAILED_TOKENS_PER_MINUTE + 1)]
    assert statuses == [401] * FAILED_TOKENS_PER_MINUTE + [429]
    for refused in (guesser.get("/api/jobs"), client_as(secured, TOKENS, "alice").get("/api/jobs")):
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"
    page = secured.client().post("/signin", data={"token": TOKENS["alice"]})
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert "Too many wrong tokens" in page.text
