"""The Azure SDK for Python against a running emulator, end to end: azure-mgmt-resource makes a
resource group and a Log Analytics workspace, Graph REST (with azure-identity's token) registers
an app with a secret and a service principal, azure-mgmt-authorization grants the app
`Log Analytics Reader` on the workspace, and azure-monitor-query's LogsQueryClient, signed in as
the app, is refused until the grant has propagated (the emulator's clock is advanced).

Usage: python sdk_flow.py CONNECTION_FILE
The emulator's CA comes from REQUESTS_CA_BUNDLE, as users set it. Prints one JSON object.
"""

import json
import sys
import uuid

import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.monitor.query import LogsQueryClient, LogsQueryStatus

WORKSPACE_API = "2022-10-01"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        conn = json.load(f)
    base, tenant, sub, admin = (
        conn["base_url"], conn["tenant_id"], conn["subscription_id"], conn["admin"])
    out = {}

    def credential(client_id, secret):
        return ClientSecretCredential(
            tenant, client_id, secret, authority=base, disable_instance_discovery=True)

    admin_credential = credential(admin["client_id"], admin["client_secret"])
    # One base URL serves every API, so the token scope is named explicitly.
    arm_scope = ["https://management.azure.com/.default"]
    resources = ResourceManagementClient(
        admin_credential, sub, base_url=base, credential_scopes=arm_scope)
    authorization = AuthorizationManagementClient(
        admin_credential, sub, base_url=base, credential_scopes=arm_scope)

    group = resources.resource_groups.create_or_update("sdk-rg", {"location": "westeurope"})
    out["group"] = group.id
    out["groups"] = sorted(g.name for g in resources.resource_groups.list())
    workspace = resources.resources.begin_create_or_update_by_id(
        f"{group.id}/providers/Microsoft.OperationalInsights/workspaces/sdk-ws",
        {"location": "westeurope", "properties": {}}, api_version=WORKSPACE_API).result()
    out["workspace"] = workspace.id
    customer_id = workspace.properties["customerId"]

    # Graph through plain REST with azure-identity's token.
    graph = requests.Session()
    graph.headers["Authorization"] = "Bearer " + admin_credential.get_token(
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
    out["assignment_role"] = assignment.role_definition_id
    out["assignments"] = [a.principal_id for a in
                          authorization.role_assignments.list_for_scope(workspace.id)]

    # A row in the workspace, through the emulator's seeding shortcut.
    requests.post(f"{base}/_emulator/monitor/workspaces/{customer_id}/tables/AppEvents_CL",
                  json=[{"Name": "checkout", "DurationMs": 42}]).raise_for_status()

    logs = LogsQueryClient(credential(app["appId"], secret.json()["secretText"]),
                           endpoint=f"{base}/v1", audience="https://api.loganalytics.io")
    query = "AppEvents_CL | project Name, DurationMs"
    try:
        logs.query_workspace(customer_id, query, timespan=None)
        out["before"] = None
    except HttpResponseError as e:
        out["before"] = {"status": e.status_code, "code": e.error.code if e.error else None}

    requests.post(f"{base}/_emulator/clock/advance",
                  json={"seconds": 11 * 60}).raise_for_status()
    result = logs.query_workspace(customer_id, query, timespan=None)
    out["after_status"] = "success" if result.status == LogsQueryStatus.SUCCESS else "partial"
    table = result.tables[0]
    out["columns"] = list(table.columns)
    out["rows"] = [list(row) for row in table.rows]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
