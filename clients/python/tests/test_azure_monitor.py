"""azure-monitor-ingestion and azure-monitor-query against the emulator, without propagation
delays: as the bootstrap admin, creates a workspace, a data collection rule and a site over ARM,
grants itself Monitoring Metrics Publisher, uploads rows with LogsIngestionClient, queries them
with LogsQueryClient, posts a custom metric and reads it with MetricsQueryClient. Then runs
LogsQueryClient's query_workspace, query_resource and query_batch against a fresh workspace."""

import datetime
import uuid

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.monitor.ingestion import LogsIngestionClient
from azure.monitor.query import (LogsBatchQuery, LogsQueryClient, LogsQueryError,
                                 LogsQueryResult, LogsQueryStatus, MetricsQueryClient)

ARM = "https://management.azure.com"
PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"


@pytest.mark.entra_emulator(args=["--rbac-propagation", "0s"])
def test_ingest_query_and_metrics(entra_emulator):
    base, sub = entra_emulator.base_url, entra_emulator.subscription_id
    credential = entra_emulator.credential
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
            "principalId": entra_emulator.admin_object_id, "principalType": "ServicePrincipal"}},
        "2022-04-01")

    ingestion = LogsIngestionClient(
        endpoint=rule["properties"]["endpoints"]["logsIngestion"], credential=credential)
    ingestion.upload(rule_id=rule["properties"]["immutableId"], stream_name="Custom-Events",
                     logs=[{"Name": "a", "Size": 1}, {"Name": "b", "Size": 2}])

    # The endpoint's host is the emulator, so the client asks for a token with the base URL
    # as audience, as the cloud metadata document describes Log Analytics.
    logs = LogsQueryClient(credential, endpoint=f"{base}/v1")
    customer_id = ws["properties"]["customerId"]
    result = logs.query_workspace(
        customer_id, "Events_CL | summarize total = sum(Size) by Name | order by Name asc",
        timespan=datetime.timedelta(hours=1), include_statistics=True)
    assert result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    assert list(table.columns) == ["Name", "total"]
    assert [list(r) for r in table.rows] == [["a", 1], ["b", 2]]
    assert result.statistics is not None
    with pytest.raises(HttpResponseError) as bad:
        logs.query_workspace(customer_id, "Events_CL | where", timespan=None)
    assert bad.value.error.code == "BadArgumentError"

    token = credential.get_token("https://monitoring.azure.com//.default").token
    r = session.post(f"{base}{site['id']}/metrics", headers={"Authorization": f"Bearer {token}"},
                     json={"time": entra_emulator.now(), "data": {"baseData": {
                         "metric": "Latency", "namespace": "Shop", "dimNames": ["Route"],
                         "series": [{"dimValues": ["/cart"], "min": 4, "max": 16, "sum": 40,
                                     "count": 4}]}}})
    assert r.status_code == 200, r.text

    metrics = MetricsQueryClient(credential, endpoint=base, audience=ARM)
    m = metrics.query_resource(site["id"], ["Latency"], metric_namespace="Shop",
                               timespan=datetime.timedelta(minutes=30),
                               aggregations=["Average", "Count"])
    metric = m.metrics[0]
    assert metric.name == "Latency"
    points = [p for s in metric.timeseries for p in s.data if p.average is not None]
    assert [[p.average, p.count] for p in points] == [[10.0, 4.0]]
    namespaces = sorted(n.fully_qualified_namespace for n in metrics.list_metric_namespaces(site["id"]))
    assert namespaces == ["Microsoft.Web/sites", "Shop"]
    assert [d.name for d in metrics.list_metric_definitions(site["id"], namespace="Shop")] == ["Latency"]


@pytest.mark.entra_emulator(args=["--rbac-propagation", "0s"])
def test_query_a_fresh_workspace_by_id_by_resource_and_in_a_batch(entra_emulator):
    base, sub = entra_emulator.base_url, entra_emulator.subscription_id
    credential = entra_emulator.credential
    token = credential.get_token(ARM + "/.default").token
    auth = {"Authorization": f"Bearer {token}"}
    rg = f"/subscriptions/{sub}/resourceGroups/fresh"
    requests.put(f"{base}{rg}?api-version=2022-09-01", json={"location": "eastus"},
                 headers=auth).raise_for_status()
    r = requests.put(
        f"{base}{rg}/providers/Microsoft.OperationalInsights/workspaces/empty?api-version=2022-10-01",
        json={"location": "eastus"}, headers=auth)
    r.raise_for_status()
    ws = r.json()
    customer_id = ws["properties"]["customerId"]
    logs = LogsQueryClient(credential, endpoint=f"{base}/v1")

    # No data yet: print answers its row, a standard table its columns and no rows.
    printed = logs.query_workspace(customer_id, "print a = 42", timespan=None)
    assert printed.status == LogsQueryStatus.SUCCESS
    assert list(printed.tables[0].columns) == ["a"]
    assert [list(r) for r in printed.tables[0].rows] == [[42]]
    empty = logs.query_workspace(
        customer_id, "AppRequests | summarize avg(DurationMs) by bin(TimeGenerated, 10m)",
        timespan=datetime.timedelta(hours=12))
    assert empty.status == LogsQueryStatus.SUCCESS
    assert list(empty.tables[0].columns) == ["TimeGenerated", "avg_DurationMs"]
    assert empty.tables[0].rows == []
    with pytest.raises(HttpResponseError) as unknown:
        logs.query_workspace(customer_id, "Nope | take 1", timespan=None)
    assert unknown.value.error.code == "BadArgumentError"
    assert "Failed to resolve table or column expression named 'Nope'" in str(unknown.value)

    # By the workspace's ARM id.
    by_resource = logs.query_resource(ws["id"], "Heartbeat | count", timespan=None)
    assert by_resource.status == LogsQueryStatus.SUCCESS
    assert [list(r) for r in by_resource.tables[0].rows] == [[0]]

    # A batch: results come back in the order asked, an error as a LogsQueryError.
    results = logs.query_batch([
        LogsBatchQuery(customer_id, "print n = 1", timespan=None),
        LogsBatchQuery(customer_id, "Nope", timespan=None),
        LogsBatchQuery(customer_id, "Usage | take 1", timespan=datetime.timedelta(days=1)),
    ])
    assert [type(r) for r in results] == [LogsQueryResult, LogsQueryError, LogsQueryResult]
    assert [list(r) for r in results[0].tables[0].rows] == [[1]]
    assert results[1].code == "BadArgumentError"
    assert "Nope" in results[1].message
    assert "QuantityUnit" in results[2].tables[0].columns
    assert results[2].tables[0].rows == []
