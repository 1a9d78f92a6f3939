"""The local metadata service over real HTTP: DataHub's ingestion endpoints, versions, auth, limits, errors."""

import json
from urllib.parse import quote

import pytest
import requests

from ingest_assets.core.mcp import MCP

from .cli_runner import run_cli
from .rest_service import metadata_service

URN = "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.orders,PROD)"
HEADERS = {"Content-Type": "application/json", "X-RestLi-Protocol-Version": "2.0.0"}


def proposal(aspect_name: str, aspect: dict, urn: str = URN) -> dict:
    return MCP("dataset", urn, aspect_name, aspect, system_metadata={"runId": "t", "lastObserved": 1}).to_rest_obj()


def post(url: str, body, action: str = "ingestProposal", headers=None) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{url}/aspects?action={action}", data=data, headers={**HEADERS, **(headers or {})}, timeout=10)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with metadata_service(tmp_path_factory.mktemp("svc"), max_body_mb=0.05) as svc:
        yield svc


def test_config_says_it_is_a_metadata_service(service):
    response = requests.get(f"{service.url}/config", timeout=5)
    assert response.status_code == 200
    assert response.json()["noCode"] == "true"


def test_versions_are_kept_as_gms_keeps_them(service):
    urn = URN.replace("orders", "versions")
    first, second = {"name": "v", "description": "first"}, {"name": "v", "description": "second"}
    for aspect in (first, second, second):
        response = post(service.url, {"proposal": proposal("datasetProperties", aspect, urn)})
        assert response.status_code == 200, response.text
        assert response.json() == {"value": urn}
    encoded = quote(urn, safe="")
    latest = requests.get(f"{service.url}/aspects/{encoded}?aspect=datasetProperties&version=0", timeout=5).json()
    assert latest["aspect"] == {"com.linkedin.dataset.DatasetProperties": second}
    assert latest["version"] == 0 and latest["systemMetadata"]["runId"] == "t"
    older = requests.get(f"{service.url}/aspects/{encoded}?aspect=datasetProperties&version=1", timeout=5).json()
    assert older["aspect"] == {"com.linkedin.dataset.DatasetProperties": first}
    assert requests.get(f"{service.url}/aspects/{encoded}?aspect=datasetProperties&version=2", timeout=5).status_code == 404
    store = service.store()
    assert store.versions(urn, "datasetProperties") == [0, 1]
    store.close()


def test_batch_and_entities_v2(service):
    urn = URN.replace("orders", "batch")
    fields = {"fields": [{"fieldPath": "id", "type": {"type": {"com.linkedin.schema.NumberType": {}}}}]}
    body = {"proposals": [proposal("status", {"removed": False}, urn), proposal("schemaMetadata", fields, urn)]}
    response = post(service.url, body, "ingestProposalBatch")
    assert response.status_code == 200, response.text
    entity = requests.get(f"{service.url}/entitiesV2/{quote(urn, safe='')}", timeout=5).json()
    assert entity["urn"] == urn and entity["entityName"] == "dataset"
    assert set(entity["aspects"]) == {"status", "schemaMetadata"}
    assert entity["aspects"]["schemaMetadata"]["value"] == fields
    assert entity["aspects"]["status"]["version"] == 0 and entity["aspects"]["status"]["type"] == "VERSIONED"
    only = requests.get(f"{service.url}/entitiesV2/{quote(urn, safe='')}?aspects=List(status)", timeout=5).json()
    assert set(only["aspects"]) == {"status"}
    missing = requests.get(f"{service.url}/entitiesV2/{quote(URN.replace('orders', 'nope'), safe='')}", timeout=5)
    assert missing.status_code == 404


def test_pegasus_union_names_are_stored_short(service):
    urn = URN.replace("orders", "pegasus")
    long_form = {"fields": [{"fieldPath": "id", "type": {"type": {"com.linkedin.pegasus2avro.schema.NumberType": {}}}}]}
    obj = proposal("schemaMetadata", {}, urn)
    obj["aspect"]["value"] = json.dumps(long_form)
    assert post(service.url, {"proposal": obj}).status_code == 200
    store = service.store()
    assert store.get_aspect(urn, "schemaMetadata")["value"]["fields"][0]["type"] == {"type": {"com.linkedin.schema.NumberType": {}}}
    store.close()


@pytest.mark.parametrize("mutate, expected", [
    (lambda p: p.pop("entityUrn"), "required field entityUrn is missing"),
    (lambda p: p.update(entityUrn="dataset-orders"), "is not a urn:li: URN"),
    (lambda p: p.update(entityType="container"), "does not match the URN's type"),
    (lambda p: p["aspect"].update(value="{not json"), "aspect value is not valid JSON"),
    (lambda p: p["aspect"].update(value="[1, 2]"), "must be a JSON object"),
    (lambda p: p.update(changeType="DELETE"), "changeType 'DELETE' is not supported"),
])
def test_invalid_proposals_are_422_with_a_message(service, mutate, expected):
    obj = proposal("status", {"removed": False}, URN.replace("orders", "invalid"))
    mutate(obj)
    response = post(service.url, {"proposals": [proposal("status", {"removed": False}), obj]}, "ingestProposalBatch")
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422 and expected in body["message"] and body["message"].startswith("proposals[1]")
    store = service.store()
    assert store.get_aspect(URN.replace("orders", "invalid"), "status") is None
    store.close()


def test_unknown_action_and_non_json_body(service):
    assert post(service.url, {"proposal": {}}, "ingest").status_code == 400
    assert post(service.url, b"not json").status_code == 400


def test_body_over_the_limit_is_413(service):
    big = proposal("datasetProperties", {"name": "big", "description": "x" * 80_000})
    response = post(service.url, {"proposal": big})
    assert response.status_code == 413
    assert "limit" in response.json()["message"]


def test_bearer_token_is_required_when_configured(tmp_path):
    with metadata_service(tmp_path, token="s3cret-service-token") as svc:
        assert requests.get(f"{svc.url}/config", timeout=5).status_code == 401
        wrong = post(svc.url, {"proposal": proposal("status", {"removed": False})}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "Unauthorized" in wrong.json()["message"]
        right = post(svc.url, {"proposal": proposal("status", {"removed": False})},
                     headers={"Authorization": "Bearer s3cret-service-token"})
        assert right.status_code == 200
    assert "s3cret-service-token" not in (tmp_path / "service.log").read_text()


def test_serve_on_a_port_in_use_is_one_line_exit_2(tmp_path):
    with metadata_service(tmp_path) as svc:
        port = svc.url.rsplit(":", 1)[1]
        result = run_cli("serve", "--port", port, "--store", f"sqlite:///{tmp_path / 'other.db'}", timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert "Traceback" not in result.stderr
