"""azure-monitor-ingestion and azure-monitor-query against a running emulator.

Usage: python azure_monitor_clients.py CONNECTION_FILE
The emulator's CA comes from REQUESTS_CA_BUNDLE, as users set it; it must run with
--rbac-propagation 0s. As the bootstrap admin: creates a workspace, a data collection rule and
a site over ARM, grants itself Monitoring Metrics Publisher, uploads rows with
LogsIngestionClient, queries them with LogsQueryClient, posts a custom metric and reads it
with MetricsQueryClient. Prints one JSON object.
"""

import datetime
import json
import sys
import uuid

import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.monitor.ingestion import LogsIngestionClient
from azure.monitor.query import LogsQueryClient, LogsQueryStatus, MetricsQueryClient

ARM = "https://management.azure.com"
PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        conn = json.load(f)
    base, admin = conn["base_url"], conn["admin"]
    sub = conn["subscription_id"]
    credential = ClientSecretCredential(
        conn["tenant_id"], admin["client_id"], admin["client_secret"],
        authority=base, disable_instance_discovery=True)
    session = requests.Session()

    def arm(method, path, body=None, version="2023-01-01"):
        token = credential.get_token(ARM + "/.default").token
        r = session.request(method, f"{base}{path}?api-version={version}", json=body,
                            headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        return r.json()

    rg = f"/subscriptions/{sub}/resourceGroups/py"
    arm("PUT", rg, {"location": "eastus"}, "2022-09-01")
    ws = arm("PUT", f"{rg}/providers/Microsoft.OperationalInsights/workspaces/logs",
             {"location": "eastus"}, "2022-10-01")
    rule = arm("PUT", f"{rg}/providers/Microsoft.Insights/dataCollectionRules/rule", {
        "location": "eastus", "kind": "Direct", "properties": {
            "streamDeclarations": {"Custom-Events": {"columns": [
                {"name": "TimeGenerated", "type": "datetime"},
                {"name": "Name", "type": "string"},
                {"name": "Size", "type": "long"}]}},
            "destinations": {"logAnalytics": [
                {"name": "la", "workspaceResourceId": ws["id"]}]},
            "dataFlows": [{"streams": ["Custom-Events"], "destinations": ["la"],
                           "transformKql": "source", "outputStream": "Custom-Events_CL"}]}},
        "2023-03-11")
    site = arm("PUT", f"{rg}/providers/Microsoft.Web/sites/shop", {"location": "eastus"})
    arm("PUT", f"{rg}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", {
        "properties": {
            "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{PUBLISHER}",
            "principalId": admin["object_id"], "principalType": "ServicePrincipal"}},
        "2022-04-01")
    out = {}

    ingestion = LogsIngestionClient(
        endpoint=rule["properties"]["endpoints"]["logsIngestion"], credential=credential)
    ingestion.upload(rule_id=rule["properties"]["immutableId"], stream_name="Custom-Events",
                     logs=[{"Name": "a", "Size": 1}, {"Name": "b", "Size": 2}])

    # The endpoint's host is the emulator, so the client asks for a token with the base URL
    # as audience, as the cloud metadata document describes Log Analytics.
    logs = LogsQueryClient(credential, endpoint=f"{base}/v1")
    result = logs.query_workspace(
        ws["properties"]["customerId"], "Events_CL | summarize total = sum(Size) by Name | order by Name asc",
        timespan=datetime.timedelta(hours=1), include_statistics=True)
    out["query_status"] = str(result.status)
    out["query_ok"] = result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    out["columns"] = list(table.columns)
    out["rows"] = [list(r) for r in table.rows]
    out["has_statistics"] = result.statistics is not None
    try:
        logs.query_workspace(ws["properties"]["customerId"], "Events_CL | where", timespan=None)
        out["bad_query_error"] = None
    except HttpResponseError as e:
        out["bad_query_error"] = e.error.code if e.error else str(e)

    token = credential.get_token("https://monitoring.azure.com//.default").token
    now = requests.get(f"{base}/_emulator/clock").json()["now"]
    r = session.post(f"{base}{site['id']}/metrics", headers={"Authorization": f"Bearer {token}"},
                     json={"time": now, "data": {"baseData": {
                         "metric": "Latency", "namespace": "Shop", "dimNames": ["Route"],
                         "series": [{"dimValues": ["/cart"], "min": 4, "max": 16, "sum": 40,
                                     "count": 4}]}}})
    out["metric_post_status"] = r.status_code

    metrics = MetricsQueryClient(credential, endpoint=base, audience=ARM)
    m = metrics.query_resource(site["id"], ["Latency"], metric_namespace="Shop",
                               timespan=datetime.timedelta(minutes=30),
                               aggregations=["Average", "Count"])
    metric = m.metrics[0]
    points = [p for s in metric.timeseries for p in s.data if p.average is not None]
    out["metric_name"] = metric.name
    out["metric_points"] = [[p.average, p.count] for p in points]
    out["metric_granularity"] = str(m.granularity)
    out["namespaces"] = sorted(n.fully_qualified_namespace for n in metrics.list_metric_namespaces(site["id"]))
    out["definitions"] = [d.name for d in metrics.list_metric_definitions(site["id"], namespace="Shop")]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
