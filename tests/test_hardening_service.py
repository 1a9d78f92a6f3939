"""The local metadata service under hostile input, over real HTTP against `ingest-assets serve`.

Every malformed request is a 4xx with GMS's error shape, never a 500 nor a stored null; a request's
fate depends on its own proposals only, whatever other clients send meanwhile; what is stored can be
read back; concurrent large batches stay within a memory bound; the contract is published.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, quote_plus

import pytest
import requests

from .rest_service import metadata_service
from .test_metadata_service import HEADERS, URN, post, proposal

DEEP = 300


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with metadata_service(tmp_path_factory.mktemp("hardening")) as svc:
        yield svc


def _with_value(text: str, urn: str) -> dict:
    obj = proposal("datasetProperties", {}, urn)
    obj["aspect"]["value"] = text
    return obj


HOSTILE_VALUES = {
    "nested_300": '{"customProperties": ' + "[" * DEEP + "]" * DEEP + "}",
    "int_2_64": '{"name": 18446744073709551616}',
    "int_below_int64": '{"name": -9223372036854775809}',
    "lone_surrogate": '{"name": "\\ud800"}',
    "lone_surrogate_key": '{"\\udfff": 1}',
    "nan": '{"name": NaN}',
    "infinity": '{"name": Infinity}',
    "minus_infinity": '{"name": -Infinity}',
    "1e999": '{"name": 1e999}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_an_aspect_the_store_cannot_keep_exactly_is_422_and_not_stored(service, name):
    urn = URN.replace("orders", f"hostile_{name}")
    response = post(service.url, {"proposal": _with_value(HOSTILE_VALUES[name], urn)})
    assert response.status_code == 422, response.text[:300]
    assert response.json()["status"] == 422 and "proposal: aspect value" in response.json()["message"]
    store = service.store()
    assert store.get_aspect(urn, "datasetProperties") is None
    store.close()


@pytest.mark.parametrize("change_type", [{"UPSERT": 1}, ["UPSERT"], 7, None])
def test_change_type_of_the_wrong_kind_is_422(service, change_type):
    obj = proposal("status", {"removed": False})
    obj["changeType"] = change_type
    response = post(service.url, {"proposal": obj})
    assert response.status_code == 422 and "changeType" in response.json()["message"]


@pytest.mark.parametrize("body", [
    b'{"proposal": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    b"[" * 100_000,
    b'{"proposals": [], "x": NaN}',
    b'{"proposals": [], "x": 1e999}',
    b"\xff\xfe{}",
])
def test_a_body_that_is_not_plain_json_is_400(service, body):
    response = post(service.url, body, "ingestProposalBatch")
    assert response.status_code == 400, response.text[:300]
    assert response.json()["status"] == 400


def test_a_system_metadata_the_store_cannot_keep_is_422(service):
    obj = proposal("status", {"removed": False}, URN.replace("orders", "sysmeta"))
    obj["systemMetadata"] = {"runId": "\ud800"}
    body = json.dumps({"proposal": obj})  # json escapes the lone surrogate as \ud800
    assert post(service.url, body).status_code == 422


@pytest.mark.parametrize("urn, says", [
    ("urn:li:dataset:(urn:li:dataPlatform:mysql,shop.line\nbreak,PROD)", "control character"),
    ("urn:li:dataset:(urn:li:dataPlatform:mysql,shop.esc\x1b[31m,PROD)", "control character"),
    ("urn:li:dataset:(urn:li:dataPlatform:mysql,shop.nul\x00,PROD)", "control character"),
    ("urn:li:dataset:(urn:li:dataPlatform:mysql,shop." + "x" * 100_000 + ",PROD)", "longer than"),
    ("urn:li:dataset:(urn:li:dataPlatform:mysql,shop." + "\u00e9" * 200 + ",PROD)", "longer than"),
    ("urn:li:dataset:(urn:li:dataPlatform:mysql,shop.\ud800,PROD)", "lone surrogate"),
    (" urn:li:dataset:(urn:li:dataPlatform:mysql,shop.space,PROD)", "not a urn:li: URN"),
])
def test_a_urn_that_could_not_be_read_back_is_refused_on_write(service, urn, says):
    response = post(service.url, {"proposal": proposal("status", {"removed": False}, urn)})
    assert response.status_code == 422, response.text[:300]
    assert says in response.json()["message"]


def test_the_longest_urn_accepted_reads_back(service):
    """GMS's limit: 512 bytes URL-encoded (`(`, `,`, `:` take three bytes each)."""
    prefix, suffix = "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.", ",PROD)"
    urn = prefix + "t" * (512 - len(quote_plus(prefix + suffix, safe="*"))) + suffix
    assert len(quote_plus(urn, safe="*")) == 512
    over = urn.replace("(", "(t", 1)
    assert post(service.url, {"proposal": proposal("status", {"removed": True}, over)}).status_code == 422
    assert post(service.url, {"proposal": proposal("status", {"removed": True}, urn)}).status_code == 200
    read = requests.get(f"{service.url}/aspects/{quote(urn, safe='')}?aspect=status&version=0", timeout=5)
    assert read.status_code == 200 and read.json()["aspect"] == {"com.linkedin.common.Status": {"removed": True}}
    entity = requests.get(f"{service.url}/entitiesV2/{quote(urn, safe='')}", timeout=5)
    assert entity.status_code == 200


@pytest.mark.parametrize("query", [
    "aspect=status&version=9223372036854775808",
    "aspect=status&version=-1",
    "aspect=status&version=99999999999999999999999999",
    "aspect=status&version=abc",
])
def test_a_version_out_of_range_is_400(service, query):
    response = requests.get(f"{service.url}/aspects/{quote(URN, safe='')}?{query}", timeout=5)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["status"] == 400 and "version" in response.json()["message"]


@pytest.mark.parametrize("query", [
    {"urn": URN, "aspect": "datasetProfile", "limit": 1e308 * 10},
    {"urn": URN, "aspect": "datasetProfile", "limit": "many"},
    {"urn": {"x": 1}, "aspect": "datasetProfile"},
    {"urn": URN, "aspect": ["datasetProfile"]},
    {"urn": URN, "aspect": "datasetProfile", "filter": {"or": [{"and": ["nope"]}]}},
    {"urn": URN, "aspect": "datasetProfile", "filter": {"criteria": [{"field": "x", "values": 5}]}},
    {"urn": URN, "aspect": "datasetProfile", "filter": "all"},
    ["not", "an", "object"],
])
def test_a_malformed_timeseries_query_is_400(service, query):
    body = json.dumps(query, allow_nan=True).replace("Infinity", "1e999")
    response = post(service.url, body, "getTimeseriesAspectValues")
    assert response.status_code == 400, response.text[:300]


def _poison_proposals(index: int) -> dict:
    """Proposals that parse as JSON but that no store can keep, or a PATCH that cannot apply."""
    urn = URN.replace("orders", f"poison_{index}")
    kinds = [
        _with_value('{"name": 18446744073709551616}', urn),
        _with_value('{"name": "\\ud800"}', urn),
        _with_value('{"name": NaN}', urn),
        {**proposal("globalTags", {}, urn), "changeType": "PATCH",
         "aspect": {"value": json.dumps([{"op": "replace", "path": "/nope/x", "value": 1}]),
                    "contentType": "application/json-patch+json"}},
        {**proposal("globalTags", {}, urn), "changeType": "PATCH",  # valid, but its result nests past what the store keeps
         "aspect": {"value": json.dumps([{"op": "add", "path": "/x" * 200, "value": json.loads("[" * 100 + "]" * 100)}]),
                    "contentType": "application/json-patch+json"}},
    ]
    return {"proposals": [proposal("status", {"removed": False}, urn), kinds[index % len(kinds)]]}


def test_one_client_s_poison_fails_its_own_requests_only(service):
    """Seven clients send valid batches while an eighth sends poison: every valid request is acknowledged."""
    valid_results, poison_results, errors = [], [], []
    lock = threading.Lock()

    def valid_client(client: int) -> None:
        with requests.Session() as session:  # keep-alive, as DataHub's emitters use it
            for i in range(40):
                urns = [URN.replace("orders", f"valid_{client}_{i}_{k}") for k in range(5)]
                body = {"proposals": [proposal("datasetProperties", {"name": u[-20:]}, u) for u in urns]}
                try:
                    response = session.post(f"{service.url}/aspects?action=ingestProposalBatch", data=json.dumps(body),
                                            headers=HEADERS, timeout=30)
                    with lock:
                        valid_results.append(response.status_code)
                except requests.RequestException as exc:
                    with lock:
                        errors.append(repr(exc))

    def poison_client() -> None:
        with requests.Session() as session:
            for i in range(160):
                try:
                    response = session.post(f"{service.url}/aspects?action=ingestProposalBatch",
                                            data=json.dumps(_poison_proposals(i)), headers=HEADERS, timeout=30)
                    with lock:
                        poison_results.append(response.status_code)
                except requests.RequestException as exc:
                    with lock:
                        errors.append(repr(exc))

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(valid_client, c) for c in range(7)] + [pool.submit(poison_client)]
        for future in futures:
            future.result()
    assert errors == []
    assert len(valid_results) == 280 and set(valid_results) == {200}, {s: valid_results.count(s) for s in set(valid_results)}
    assert len(poison_results) == 160 and set(poison_results) == {422}, {s: poison_results.count(s) for s in set(poison_results)}
    store = service.store()
    assert store.get_aspect(URN.replace("orders", "valid_6_39_4"), "datasetProperties") is not None
    assert store.get_aspect(URN.replace("orders", "poison_0"), "status") is None  # a failed batch writes nothing
    store.close()


def test_the_contract_is_published_with_the_body_schema(service):
    response = requests.get(f"{service.url}/openapi.json", timeout=5)
    assert response.status_code == 200
    document = response.json()
    body = document["paths"]["/aspects"]["post"]["requestBody"]
    assert body["required"] is True
    schemas = document["components"]["schemas"]
    assert {"entityType", "entityUrn", "aspectName", "aspect"} <= set(schemas["MetadataChangeProposal"]["required"])
    assert "proposals" in schemas["IngestProposalBatchRequest"]["properties"]
    assert {p["name"] for p in document["paths"]["/aspects/{urn}"]["get"]["parameters"]} >= {"urn", "aspect", "version"}


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def _large_batch(client: int, megabytes: float) -> bytes:
    fields = [{"fieldPath": f"col_{k}", "nativeDataType": "VARCHAR(20)", "nullable": True,
               "type": {"type": {"com.linkedin.schema.StringType": {}}}} for k in range(20)]
    proposals, size, index = [], 0, 0
    while size < megabytes * 1024 * 1024:
        urn = URN.replace("shop.orders", f"big{client}.t{index}")
        proposals.append(proposal("schemaMetadata", {"schemaName": urn, "fields": fields}, urn))
        size += len(json.dumps(proposals[-1]))
        index += 1
    return json.dumps({"proposals": proposals}).encode()


def test_concurrent_large_batches_stay_within_a_memory_bound(tmp_path):
    """Eight clients each sending a 4 MB batch at once cost the service about what two cost, not eight times one."""
    bodies = [_large_batch(client, 4) for client in range(9)]
    with metadata_service(tmp_path, max_body_mb=8) as svc:
        url = f"{svc.url}/aspects?action=ingestProposalBatch"
        start = _peak_rss_kb(svc.proc.pid)
        assert requests.post(url, data=bodies[8], headers=HEADERS, timeout=120).status_code == 200
        one = _peak_rss_kb(svc.proc.pid) - start
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda body: requests.post(url, data=body, headers=HEADERS, timeout=300).status_code,
                                  bodies[:8]))
        eight = _peak_rss_kb(svc.proc.pid) - start
    assert codes == [200] * 8
    assert eight < 3 * one, f"one batch: +{one // 1024} MB peak, eight at once: +{eight // 1024} MB"
