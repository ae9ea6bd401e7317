"""azure-identity's ClientSecretCredential and EnvironmentCredential against the emulator
over HTTPS."""

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential, EnvironmentCredential


def test_client_secret_credential(entra_emulator, claims_of):
    token = entra_emulator.credential.get_token("https://management.azure.com/.default")
    claims = claims_of(token.token)
    assert claims["aud"] == "https://management.azure.com"
    # The SDK adds expires_in (lifetime - 1 s) to its own clock.
    assert claims["exp"] - 5 <= token.expires_on <= claims["exp"]


def test_environment_credential(entra_emulator, monkeypatch, claims_of):
    for name, value in entra_emulator.env.items():
        monkeypatch.setenv(name, value)
    token = EnvironmentCredential(disable_instance_discovery=True).get_token(
        "https://graph.microsoft.com/.default")
    assert claims_of(token.token)["roles"] == ["Application.ReadWrite.All"]


def test_wrong_secret_is_refused_with_aadsts7000215(entra_emulator):
    wrong = ClientSecretCredential(
        entra_emulator.tenant_id, entra_emulator.admin_client_id, "not-the-secret",
        authority=entra_emulator.base_url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as refused:
        wrong.get_token("https://management.azure.com/.default")
    assert "AADSTS7000215" in str(refused.value.message)


def test_key_vault_scope_with_cae_gets_a_day_long_token_and_refresh_time(entra_emulator, claims_of):
    # Key Vault's client asks for CAE: azure-identity then sends the claims
    # {"access_token": {"xms_cc": {"values": ["CP1"]}}}; Entra answers such a request
    # with expires_in 86399 and refresh_in 43199, which the SDK reports as refresh_on.
    info = entra_emulator.credential.get_token_info(
        "https://vault.azure.net/.default", options={"enable_cae": True})
    claims = claims_of(info.token)
    assert claims["aud"] == "https://vault.azure.net"
    assert claims["appid"] == entra_emulator.admin_client_id
    issued = claims["iat"] + 300  # iat is back-dated five minutes
    assert claims["exp"] - issued == 86400
    assert abs(info.expires_on - (issued + 86399)) <= 5
    assert info.refresh_on is not None
    assert abs(info.refresh_on - (issued + 43199)) <= 5

    # Without CAE the same scope gets the emulator's default hour and no refresh time.
    plain = entra_emulator.credential.get_token_info("https://vault.azure.net/.default")
    assert claims_of(plain.token)["exp"] - claims_of(plain.token)["iat"] == 3600 + 300
