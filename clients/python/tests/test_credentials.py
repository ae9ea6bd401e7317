"""Certificates and workload identity federation with the real Python clients: azure-identity's
CertificateCredential, WorkloadIdentityCredential (AZURE_FEDERATED_TOKEN_FILE) and
DefaultAzureCredential in workload-identity mode, and MSAL Python with a certificate. Each gets
a token and calls ARM with it."""

import datetime
import uuid

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, DefaultAzureCredential, WorkloadIdentityCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ARM = "https://management.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
EXCHANGE = "api://AzureADTokenExchange"


def make_certificate():
    """A self-signed RSA certificate: (PEM with key and certificate, base64 DER, SHA-1 hex)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "python-client")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM)
    der = cert.public_bytes(serialization.Encoding.DER)
    import base64
    return pem, base64.b64encode(der).decode(), cert.fingerprint(hashes.SHA1()).hex().upper()


class Graph:
    """Just enough Graph, as the bootstrap admin, to register what the tests sign in with."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.session = requests.Session()
        self.session.verify = emulator.ca_bundle_path or True
        token = emulator.credential.get_token(GRAPH).token
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method, path, body=None, expect=200):
        answer = self.session.request(method, f"{self.emulator.base_url}/v1.0/{path}", json=body)
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None

    def register(self, **properties):
        """An application with these properties and its service principal: (object id, appId)."""
        app = self.call("POST", "applications", {"displayName": "python-cred", **properties}, 201)
        self.call("POST", "servicePrincipals", {"appId": app["appId"]}, 201)
        return app["id"], app["appId"]


def call_arm(emulator, token):
    answer = requests.get(f"{emulator.base_url}/subscriptions?api-version=2022-12-01",
                          headers={"Authorization": f"Bearer {token}"},
                          verify=emulator.ca_bundle_path or True)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def graph(entra_emulator):
    return Graph(entra_emulator)


def test_certificate_credential_and_msal_with_a_certificate(entra_emulator, graph, tmp_path, claims_of):
    pem, der, thumbprint = make_certificate()
    _, client_id = graph.register(keyCredentials=[
        {"type": "AsymmetricX509Cert", "usage": "Verify", "key": der}])
    path = tmp_path / "cert.pem"
    path.write_bytes(pem)

    credential = CertificateCredential(entra_emulator.tenant_id, client_id, certificate_path=str(path),
                                       authority=entra_emulator.base_url,
                                       disable_instance_discovery=True)
    token = credential.get_token(ARM).token
    claims = claims_of(token)
    assert claims["appid"] == client_id
    assert claims["appidacr"] == "2"  # certificate
    call_arm(entra_emulator, token)

    # MSAL Python with the PEM key and SHA-1 thumbprint: RS256 with x5t, the assertion reused
    # for the second scope.
    app = msal.ConfidentialClientApplication(
        client_id, client_credential={"private_key": pem.decode(), "thumbprint": thumbprint},
        authority=f"{entra_emulator.base_url}/{entra_emulator.tenant_id}", instance_discovery=False)
    for scope in (ARM, GRAPH):
        result = app.acquire_token_for_client(scopes=[scope])
        assert "access_token" in result, result
    call_arm(entra_emulator, app.acquire_token_for_client(scopes=[ARM])["access_token"])

    # A certificate the application does not know: AADSTS700027.
    other, _, _ = make_certificate()
    path.write_bytes(other)
    stranger = CertificateCredential(entra_emulator.tenant_id, client_id, certificate_path=str(path),
                                     authority=entra_emulator.base_url,
                                     disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as refused:
        stranger.get_token(ARM)
    assert "AADSTS700027" in str(refused.value.message)


def federated_app(entra_emulator, graph, subject):
    issuer = f"{entra_emulator.base_url}/_emulator/issuer"
    object_id, client_id = graph.register()
    graph.call("POST", f"applications/{object_id}/federatedIdentityCredentials",
               {"name": "github-main", "issuer": issuer, "subject": subject, "audiences": [EXCHANGE]},
               201)
    return client_id


def test_workload_identity_credential_with_a_federated_token_file(entra_emulator, graph, tmp_path,
                                                                   claims_of):
    subject = "repo:org/repo:ref:refs/heads/main"
    client_id = federated_app(entra_emulator, graph, subject)
    minted = entra_emulator.control("POST", "issuer/token", {"subject": subject})
    token_file = tmp_path / "token"
    token_file.write_text(minted["token"])

    credential = WorkloadIdentityCredential(tenant_id=entra_emulator.tenant_id, client_id=client_id,
                                            token_file_path=str(token_file),
                                            authority=entra_emulator.base_url,
                                            disable_instance_discovery=True)
    token = credential.get_token(ARM).token
    assert claims_of(token)["appid"] == client_id
    call_arm(entra_emulator, token)

    # A token for another subject: AADSTS700213.
    other = entra_emulator.control("POST", "issuer/token", {"subject": "repo:org/repo:pull_request"})
    token_file.write_text(other["token"])
    fresh = WorkloadIdentityCredential(tenant_id=entra_emulator.tenant_id, client_id=client_id,
                                       token_file_path=str(token_file),
                                       authority=entra_emulator.base_url,
                                       disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as refused:
        fresh.get_token(ARM)
    assert "AADSTS700213" in str(refused.value.message)


def test_default_azure_credential_in_workload_identity_mode(entra_emulator, graph, tmp_path,
                                                             monkeypatch, claims_of):
    subject = "system:serviceaccount:ns:name"
    client_id = federated_app(entra_emulator, graph, subject)
    minted = entra_emulator.control("POST", "issuer/token",
                                    {"subject": subject, "audience": [EXCHANGE]})
    token_file = tmp_path / "token"
    token_file.write_text(minted["token"])
    # DefaultAzureCredential enables its workload identity credential only when all three of
    # AZURE_AUTHORITY_HOST, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE are set
    # (azure-identity _constants.py WORKLOAD_IDENTITY_VARS); no secret may be there, or the
    # environment credential would win.
    for name, value in entra_emulator.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AZURE_CLIENT_SECRET")
    monkeypatch.setenv("AZURE_CLIENT_ID", client_id)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    credential = DefaultAzureCredential(exclude_managed_identity_credential=True,
                                        exclude_cli_credential=True,
                                        exclude_developer_cli_credential=True,
                                        exclude_powershell_credential=True,
                                        disable_instance_discovery=True)
    token = credential.get_token(ARM).token
    assert claims_of(token)["appid"] == client_id
    call_arm(entra_emulator, token)
