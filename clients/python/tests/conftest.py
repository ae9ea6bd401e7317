"""Shared helpers of the real-client tests. The emulator itself comes from the
``entra_emulator`` fixture of the entra-emulator-pytest package (clients/python/entra_emulator_pytest)."""

import base64
import json

import pytest


def decode_claims(token):
    """The claims of a JWT (not verified: the tests compare values, not trust)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def claims_of():
    return decode_claims
