"""MSAL Python's ConfidentialClientApplication against the emulator over HTTPS: a token for
the right secret, Entra's invalid_client / AADSTS7000215 for a wrong one."""

import msal


def acquire(emulator, secret):
    app = msal.ConfidentialClientApplication(
        emulator.admin_client_id,
        client_credential=secret,
        authority=f"{emulator.base_url}/{emulator.tenant_id}",
        # The emulator is not a well-known Microsoft host: instance discovery would ask
        # login.microsoftonline.com about it.
        instance_discovery=False,
    )
    return app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])


def test_client_credentials(entra_emulator, claims_of):
    good = acquire(entra_emulator, entra_emulator.admin_client_secret)
    assert good.get("error_description") is None, good
    assert good["token_type"] == "Bearer"
    assert good["expires_in"] == 3599
    assert claims_of(good["access_token"])["appid"] == entra_emulator.admin_client_id

    bad = acquire(entra_emulator, "not-the-secret")
    assert bad["error"] == "invalid_client"
    assert bad["error_codes"] == [7000215]
