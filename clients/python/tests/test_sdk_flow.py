"""The Azure SDK for Python end to end: azure-mgmt-resource makes a resource group and a Log
Analytics workspace, Graph REST (with azure-identity's token) registers an app with a secret and
a service principal, azure-mgmt-authorization grants the app `Log Analytics Reader` on the
workspace, and azure-monitor-query's LogsQueryClient, signed in as the app, is refused until the
grant has propagated (the emulator's clock is advanced past the delay)."""

import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.monitor.query import LogsQueryClient, LogsQueryStatus

WORKSPACE_API = "2022-10-01"
LOG_ANALYTICS_READER = "73c42c96-874c-492b-b04d-ab87d138a893"


def test_log_analytics_access_propagates(entra_emulator):
    base, sub = entra_emulator.base_url, entra_emulator.subscription_id
    admin = entra_emulator.credential
    # One base URL serves every API, so the token scope is named explicitly.
    arm_scope = ["https://management.azure.com/.default"]
    resources = ResourceManagementClient(admin, sub, base_url=base, credential_scopes=arm_scope)
    authorization = AuthorizationManagementClient(
        admin, sub, base_url=base, credential_scopes=arm_scope)

    group = resources.resource_groups.create_or_update("sdk-rg", {"location": "westeurope"})
    assert group.id == f"/subscriptions/{sub}/resourceGroups/sdk-rg"
    assert sorted(g.name for g in resources.resource_groups.list()) == ["sdk-rg"]
    workspace = resources.resources.begin_create_or_update_by_id(
        f"{group.id}/providers/Microsoft.OperationalInsights/workspaces/sdk-ws",
        {"location": "westeurope", "properties": {}}, api_version=WORKSPACE_API).result()
    # Azure answers a workspace id in lower case (the Azure CLI's recording
    # test_monitor_log_analytics_workspace_default.yaml); the lower-case id is a valid address.
    assert workspace.id == f"{group.id}/providers/Microsoft.OperationalInsights/workspaces/sdk-ws".lower()
    customer_id = workspace.properties["customerId"]

    # Graph through plain REST with azure-identity's token (requests verifies the emulator
    # with REQUESTS_CA_BUNDLE, which the fixture sets).
    graph = requests.Session()
    graph.headers["Authorization"] = "Bearer " + admin.get_token(
        "https://graph.microsoft.com/.default").token
    app = graph.post(f"{base}/v1.0/applications",
                     json={"displayName": f"sdk-app-{uuid.uuid4().hex[:8]}"})
    app.raise_for_status()
    app = app.json()
    secret = graph.post(f"{base}/v1.0/applications/{app['id']}/addPassword",
                        json={"passwordCredential": {}})
    secret.raise_for_status()
    sp = graph.post(f"{base}/v1.0/servicePrincipals", json={"appId": app["appId"]})
    sp.raise_for_status()
    sp = sp.json()

    role = next(iter(authorization.role_definitions.list(
        workspace.id, filter="roleName eq 'Log Analytics Reader'")))
    assignment = authorization.role_assignments.create(
        workspace.id, str(uuid.uuid4()),
        {"role_definition_id": role.id, "principal_id": sp["id"],
         "principal_type": "ServicePrincipal"})
    assert assignment.role_definition_id == (
        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{LOG_ANALYTICS_READER}")
    # The new grant and the bootstrap admin's, inherited from the subscription.
    assert len(list(authorization.role_assignments.list_for_scope(workspace.id))) == 2

    # A row in the workspace, through the emulator's seeding shortcut.
    entra_emulator.control("POST", f"monitor/workspaces/{customer_id}/tables/AppEvents_CL",
                           [{"Name": "checkout", "DurationMs": 42}])

    app_credential = entra_emulator.credential_for(app["appId"], secret.json()["secretText"])
    logs = LogsQueryClient(app_credential, endpoint=f"{base}/v1",
                           audience="https://api.loganalytics.io")
    query = "AppEvents_CL | project Name, DurationMs"
    with pytest.raises(HttpResponseError) as refused:
        logs.query_workspace(customer_id, query, timespan=None)
    assert refused.value.status_code == 403
    assert refused.value.error.code == "InsufficientAccessError"

    entra_emulator.advance_clock(11 * 60)
    result = logs.query_workspace(customer_id, query, timespan=None)
    assert result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    assert list(table.columns) == ["Name", "DurationMs"]
    assert [list(row) for row in table.rows] == [["checkout", 42]]
