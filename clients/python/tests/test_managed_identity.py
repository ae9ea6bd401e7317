"""azure-identity's ManagedIdentityCredential against the emulator's managed identity
endpoints: IMDS (``AZURE_POD_IDENTITY_AUTHORITY_HOST``, no probe is sent), App Service
(``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER``), and DefaultAzureCredential falling through to
it. Each gets a token and reads ARM as the identity, which holds Reader on its group."""

import uuid

import pytest
import requests
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

ARM_SCOPE = ["https://management.azure.com/.default"]
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
# Every variable that would make azure-identity pick another credential or source.
OTHER_SOURCES = ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID",
                 "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE",
                 "AZURE_USERNAME", "AZURE_PASSWORD", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
                 "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
                 "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_TOKEN_CREDENTIALS")


def clients(emulator, credential):
    base, sub = emulator.base_url, emulator.subscription_id
    return (ResourceManagementClient(credential, sub, base_url=base, credential_scopes=ARM_SCOPE),
            AuthorizationManagementClient(credential, sub, base_url=base,
                                          credential_scopes=ARM_SCOPE))


def grant_reader(emulator, scope, principal_id):
    _, authorization = clients(emulator, emulator.credential)
    authorization.role_assignments.create(
        scope, str(uuid.uuid4()),
        {"role_definition_id": f"/subscriptions/{emulator.subscription_id}/providers/"
                               f"Microsoft.Authorization/roleDefinitions/{READER}",
         "principal_id": principal_id, "principal_type": "ServicePrincipal"})


def user_assigned(emulator):
    """A resource group holding a user-assigned identity that may read it."""
    resources, _ = clients(emulator, emulator.credential)
    group = resources.resource_groups.create_or_update("mi-rg", {"location": "westeurope"})
    # A plain PUT, as `az identity create` sends it: ARM answers 201 with a `Location` that
    # carries no api-version, which the generic client's long-running-operation poller would
    # follow.
    token = emulator.credential.get_token(*ARM_SCOPE).token
    created = requests.put(
        f"{emulator.base_url}{group.id}/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/worker?api-version=2023-01-31",
        json={"location": "westeurope"}, headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.text
    identity = created.json()
    grant_reader(emulator, group.id, identity["properties"]["principalId"])
    return group, identity


@pytest.fixture
def platform(entra_emulator, monkeypatch):
    for name in OTHER_SOURCES:
        monkeypatch.delenv(name, raising=False)
    return entra_emulator


@pytest.mark.entra_emulator(args=["--rbac-propagation", "0s"])
def test_imds_user_assigned(platform, monkeypatch, claims_of):
    group, identity = user_assigned(platform)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", platform.base_url)
    credential = ManagedIdentityCredential(client_id=identity["properties"]["clientId"])
    token = credential.get_token(*ARM_SCOPE)
    claims = claims_of(token.token)
    assert claims["oid"] == identity["properties"]["principalId"]
    assert claims["xms_mirid"] == identity["id"]
    resources, _ = clients(platform, credential)
    assert resources.resource_groups.get("mi-rg").id == group.id


@pytest.mark.entra_emulator(args=["--rbac-propagation", "0s"])
def test_app_service_user_assigned(platform, monkeypatch):
    group, identity = user_assigned(platform)
    info = platform.control("GET", "managed-identity")
    monkeypatch.setenv("IDENTITY_ENDPOINT", info["identityEndpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", info["identityHeader"])
    credential = ManagedIdentityCredential(client_id=identity["properties"]["clientId"])
    resources, _ = clients(platform, credential)
    assert resources.resource_groups.get("mi-rg").id == group.id


@pytest.mark.entra_emulator(args=["--rbac-propagation", "0s"])
def test_default_credential_runs_as_the_hosts_system_assigned_identity(platform, monkeypatch,
                                                                       claims_of):
    resources, _ = clients(platform, platform.credential)
    group = resources.resource_groups.create_or_update("host-rg", {"location": "westeurope"})
    site = resources.resources.begin_create_or_update_by_id(
        f"{group.id}/providers/Microsoft.Web/sites/web",
        {"location": "westeurope", "identity": {"type": "SystemAssigned"}},
        api_version="2022-03-01").result()
    principal = site.identity.principal_id
    grant_reader(platform, group.id, principal)
    platform.control("PUT", "managed-identity", {"host": site.id})
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", platform.base_url)
    credential = DefaultAzureCredential(exclude_cli_credential=True,
                                        exclude_powershell_credential=True,
                                        exclude_developer_cli_credential=True)
    assert claims_of(credential.get_token(*ARM_SCOPE).token)["oid"] == principal
    as_site, _ = clients(platform, credential)
    assert as_site.resource_groups.get("host-rg").id == group.id


def test_imds_without_an_identity_is_unavailable(platform, monkeypatch):
    from azure.identity import CredentialUnavailableError
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", platform.base_url)
    # IMDS answers 400 "Identity not found"; azure-identity reports the credential unavailable.
    with pytest.raises(CredentialUnavailableError):
        ManagedIdentityCredential().get_token(*ARM_SCOPE)
