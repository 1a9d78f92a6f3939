"""DataHub's own client against the local metadata service: its emitter writes, its graph client reads.

Every aspect this project emits goes in through `DatahubRestEmitter` and must come back equal through
`DataHubGraph`, which finds an aspect by its record class name; PATCH proposals built by DataHub's own
patch builders must merge into what is stored exactly as GMS merges them.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests
from datahub.configuration.common import OperationalError
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.emitter.rest_emitter import DatahubRestEmitter
from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph
from datahub.metadata import schema_classes as dh
from datahub.specific.datajob import DataJobPatchBuilder
from datahub.specific.dataset import DatasetPatchBuilder

from ingest_assets.core.aspect_classes import ASPECT_CLASSES, TIMESERIES_ASPECTS

from .rest_service import metadata_service

TOKEN = "client-test-token"
DATASET = "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.orders,PROD)"
VIEW = "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.order_totals,PROD)"
CONTAINER = "urn:li:container:ba626c97f9d1f71372f3d0a5ffd98e76"
QUERY = "urn:li:query:view_0123abcd"
FLOW = "urn:li:dataFlow:(mysql,shop.stored_procedures,PROD)"
JOB = f"urn:li:dataJob:({FLOW},refresh_totals)"
PRODUCT = "urn:li:dataProduct:orders"
STAMP = dh.AuditStampClass(time=1_700_000_000_000, actor="urn:li:corpuser:_ingestion")
EMITTED_ASPECTS = {
    "containerProperties", "container", "status", "dataPlatformInstance", "subTypes", "browsePathsV2",
    "datasetProperties", "schemaMetadata", "viewProperties", "upstreamLineage", "queryProperties",
    "querySubjects", "globalTags", "glossaryTerms", "ownership", "domains", "dataFlowInfo", "dataJobInfo",
    "dataJobInputOutput", "dataTransformLogic", "datasetProfile", "editableDatasetProperties",
    "institutionalMemory", "browsePaths", "dataProductProperties", "operation",
}


def datahub_registry() -> dict:
    return {cls.ASPECT_NAME: cls for cls in dh.ASPECT_CLASSES}


def test_every_aspect_class_name_is_datahubs():
    registry = datahub_registry()
    assert EMITTED_ASPECTS <= set(ASPECT_CLASSES)
    for name, class_name in ASPECT_CLASSES.items():
        assert name in registry, f"{name} is not an aspect in DataHub's registry"
        assert registry[name].RECORD_SCHEMA.fullname.replace(".pegasus2avro", "") == class_name
    assert TIMESERIES_ASPECTS == {name for name in ASPECT_CLASSES if registry[name].ASPECT_TYPE == "timeseries"}


def aspects_for_every_kind() -> list[tuple[str, object]]:
    """One realistic value of every aspect kind the project emits, on the entity it belongs to."""
    field = dh.SchemaFieldClass(fieldPath="id", type=dh.SchemaFieldDataTypeClass(dh.NumberTypeClass()),
                                nativeDataType="BIGINT(20)", nullable=False, isPartOfKey=True)
    column = f"urn:li:schemaField:({VIEW},total)"
    return [
        (CONTAINER, dh.ContainerPropertiesClass(name="shop", env="PROD", customProperties={"platform": "mysql", "database": "shop"})),
        (CONTAINER, dh.SubTypesClass(typeNames=["Database"])),
        (CONTAINER, dh.DataPlatformInstanceClass(platform="urn:li:dataPlatform:mysql")),
        (CONTAINER, dh.BrowsePathsV2Class(path=[])),
        (DATASET, dh.ContainerClass(container=CONTAINER)),
        (DATASET, dh.StatusClass(removed=False)),
        (DATASET, dh.BrowsePathsV2Class(path=[dh.BrowsePathEntryClass(id=CONTAINER, urn=CONTAINER)])),
        (DATASET, dh.BrowsePathsClass(paths=["/prod/mysql/shop"])),
        (DATASET, dh.DatasetPropertiesClass(name="orders", description="Orders placed", customProperties={"engine": "InnoDB"})),
        (DATASET, dh.SchemaMetadataClass(
            schemaName="shop.orders", platform="urn:li:dataPlatform:mysql", version=0, hash="",
            platformSchema=dh.MySqlDDLClass(tableSchema=""), fields=[field])),
        (DATASET, dh.GlobalTagsClass(tags=[dh.TagAssociationClass(tag="urn:li:tag:pii")])),
        (DATASET, dh.GlossaryTermsClass(terms=[dh.GlossaryTermAssociationClass(urn="urn:li:glossaryTerm:Order")], auditStamp=STAMP)),
        (DATASET, dh.OwnershipClass(owners=[dh.OwnerClass(owner="urn:li:corpuser:ana", type=dh.OwnershipTypeClass.DATAOWNER)])),
        (DATASET, dh.DomainsClass(domains=["urn:li:domain:sales"])),
        (DATASET, dh.EditableDatasetPropertiesClass(description="edited in the UI")),
        (DATASET, dh.InstitutionalMemoryClass(elements=[dh.InstitutionalMemoryMetadataClass(
            url="https://wiki.example.com/orders", description="runbook", createStamp=STAMP)])),
        (DATASET, dh.DatasetProfileClass(timestampMillis=1_700_000_000_000, rowCount=42, columnCount=1)),
        (DATASET, dh.OperationClass(timestampMillis=1_700_000_000_000, lastUpdatedTimestamp=1_700_000_000_000,
                                    operationType=dh.OperationTypeClass.INSERT)),
        (VIEW, dh.ViewPropertiesClass(materialized=False, viewLogic="SELECT 1", viewLanguage="SQL")),
        (VIEW, dh.UpstreamLineageClass(
            upstreams=[dh.UpstreamClass(dataset=DATASET, type=dh.DatasetLineageTypeClass.VIEW)],
            fineGrainedLineages=[dh.FineGrainedLineageClass(
                upstreamType=dh.FineGrainedLineageUpstreamTypeClass.FIELD_SET,
                downstreamType=dh.FineGrainedLineageDownstreamTypeClass.FIELD,
                upstreams=[f"urn:li:schemaField:({DATASET},id)"], downstreams=[column])])),
        (QUERY, dh.QueryPropertiesClass(statement=dh.QueryStatementClass(value="SELECT 1", language=dh.QueryLanguageClass.SQL),
                                        source=dh.QuerySourceClass.SYSTEM, created=STAMP, lastModified=STAMP)),
        (QUERY, dh.QuerySubjectsClass(subjects=[dh.QuerySubjectClass(entity=VIEW)])),
        (FLOW, dh.DataFlowInfoClass(name="shop.stored_procedures", customProperties={"database": "shop"})),
        (JOB, dh.DataJobInfoClass(name="refresh_totals", type="MYSQL_STORED_PROCEDURE")),
        (JOB, dh.DataJobInputOutputClass(inputDatasets=[DATASET], outputDatasets=[VIEW])),
        (JOB, dh.DataTransformLogicClass(transforms=[dh.DataTransformClass(queryStatement=dh.QueryStatementClass(value="BEGIN END"))])),
        (PRODUCT, dh.DataProductPropertiesClass(name="Orders", assets=[dh.DataProductAssociationClass(destinationUrn=DATASET)])),
    ]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with metadata_service(tmp_path_factory.mktemp("datahub_client"), token=TOKEN) as svc:
        yield svc


@pytest.fixture(scope="module")
def emitter(service):
    with DatahubRestEmitter(service.url, token=TOKEN) as rest:
        yield rest


@pytest.fixture(scope="module")
def graph(service):
    with DataHubGraph(DatahubClientConfig(server=service.url, token=TOKEN)) as client:
        yield client


def read_back(graph: DataHubGraph, urn: str, aspect_type):
    if aspect_type.ASPECT_NAME in TIMESERIES_ASPECTS:
        return graph.get_latest_timeseries_value(urn, aspect_type, {})
    return graph.get_aspect(urn, aspect_type)


def test_every_aspect_written_by_datahubs_emitter_reads_back_equal(emitter, graph):
    written = aspects_for_every_kind()
    assert {aspect.ASPECT_NAME for _, aspect in written} == EMITTED_ASPECTS
    emitter.emit_mcps([MetadataChangeProposalWrapper(entityUrn=urn, aspect=aspect) for urn, aspect in written])
    for urn, aspect in written:
        assert read_back(graph, urn, type(aspect)) == aspect, aspect.ASPECT_NAME
    entity = graph.get_entity_semityped(DATASET)
    expected = {a.ASPECT_NAME: a for urn, a in written if urn == DATASET and a.ASPECT_NAME not in TIMESERIES_ASPECTS}
    assert entity == expected


def test_patch_builders_merge_into_what_is_stored(emitter, graph):
    urn = DATASET.replace("orders", "patched")
    kept_tag, dropped_tag = dh.TagAssociationClass(tag="urn:li:tag:keep"), dh.TagAssociationClass(tag="urn:li:tag:drop")
    kept_owner = dh.OwnerClass(owner="urn:li:corpuser:keep", type=dh.OwnershipTypeClass.DATAOWNER)
    dropped_owner = dh.OwnerClass(owner="urn:li:corpuser:drop", type=dh.OwnershipTypeClass.DATAOWNER)
    kept_term = dh.GlossaryTermAssociationClass(urn="urn:li:glossaryTerm:Keep")
    upstream = dh.UpstreamClass(dataset=DATASET, type=dh.DatasetLineageTypeClass.TRANSFORMED)
    for aspect in (
        dh.GlobalTagsClass(tags=[kept_tag, dropped_tag]),
        dh.OwnershipClass(owners=[kept_owner, dropped_owner], lastModified=STAMP),
        dh.DatasetPropertiesClass(name="patched", customProperties={"keep": "1", "drop": "2"}),
        dh.GlossaryTermsClass(terms=[kept_term], auditStamp=STAMP),
        dh.UpstreamLineageClass(upstreams=[upstream]),
    ):
        emitter.emit_mcp(MetadataChangeProposalWrapper(entityUrn=urn, aspect=aspect))

    added_tag = dh.TagAssociationClass(tag="urn:li:tag:new")
    added_owner = dh.OwnerClass(owner="urn:li:corpuser:new", type=dh.OwnershipTypeClass.TECHNICAL_OWNER)
    added_term = dh.GlossaryTermAssociationClass(urn="urn:li:glossaryTerm:New")
    added_upstream = dh.UpstreamClass(dataset=VIEW, type=dh.DatasetLineageTypeClass.VIEW)
    patch = (DatasetPatchBuilder(urn)
             .add_tag(added_tag).remove_tag(dropped_tag.tag)
             .add_owner(added_owner).remove_owner(dropped_owner.owner)
             .add_custom_property("path/with~tilde", "escaped").remove_custom_property("drop")
             .add_term(added_term)
             .add_upstream_lineage(added_upstream))
    for mcp in patch.build():
        emitter.emit_mcp(mcp)

    assert graph.get_aspect(urn, dh.GlobalTagsClass) == dh.GlobalTagsClass(tags=[kept_tag, added_tag])
    assert graph.get_aspect(urn, dh.OwnershipClass) == dh.OwnershipClass(owners=[kept_owner, added_owner], lastModified=STAMP)
    assert graph.get_aspect(urn, dh.DatasetPropertiesClass) == dh.DatasetPropertiesClass(
        name="patched", customProperties={"keep": "1", "path/with~tilde": "escaped"}, tags=[])
    assert graph.get_aspect(urn, dh.GlossaryTermsClass) == dh.GlossaryTermsClass(terms=[kept_term, added_term], auditStamp=STAMP)
    assert graph.get_aspect(urn, dh.UpstreamLineageClass).upstreams == [upstream, added_upstream]


def test_patch_onto_nothing_starts_from_the_aspects_default(emitter, graph):
    urn = DATASET.replace("orders", "fresh")
    for mcp in DatasetPatchBuilder(urn).add_tag(dh.TagAssociationClass(tag="urn:li:tag:x")).build():
        emitter.emit_mcp(mcp)
    assert graph.get_aspect(urn, dh.GlobalTagsClass) == dh.GlobalTagsClass(tags=[dh.TagAssociationClass(tag="urn:li:tag:x")])
    job = JOB.replace("refresh_totals", "patched_job")
    for mcp in DataJobPatchBuilder(job).add_input_dataset(DATASET).add_output_dataset(VIEW).build():
        emitter.emit_mcp(mcp)
    io = graph.get_aspect(job, dh.DataJobInputOutputClass)
    assert [e.destinationUrn for e in io.inputDatasetEdges] == [DATASET]
    assert [e.destinationUrn for e in io.outputDatasetEdges] == [VIEW]


def test_a_patch_that_cannot_apply_is_422_and_changes_nothing(emitter, graph):
    urn = DATASET.replace("orders", "bad_patch")
    before = dh.GlobalTagsClass(tags=[dh.TagAssociationClass(tag="urn:li:tag:keep")])
    emitter.emit_mcp(MetadataChangeProposalWrapper(entityUrn=urn, aspect=before))
    bad = dh.MetadataChangeProposalClass(
        entityType="dataset", entityUrn=urn, changeType=dh.ChangeTypeClass.PATCH, aspectName="globalTags",
        aspect=dh.GenericAspectClass(contentType="application/json-patch+json", value=json.dumps(
            [{"op": "add", "path": "/tags/urn:li:tag:new", "value": {"tag": "urn:li:tag:new"}},
             {"op": "replace", "path": "/tags/urn:li:tag:absent/context", "value": "x"}]).encode()))
    with pytest.raises(OperationalError) as failure:
        emitter.emit_mcp(bad)
    assert failure.value.info["status"] == 422
    assert "cannot apply" in failure.value.info["message"] and "/tags/urn:li:tag:absent/context" in failure.value.info["message"]
    assert graph.get_aspect(urn, dh.GlobalTagsClass) == before


def test_a_bad_patch_fails_only_its_own_request(service, graph):
    urn = DATASET.replace("orders", "own_request")
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "X-RestLi-Protocol-Version": "2.0.0"}
    good = {"entityType": "dataset", "entityUrn": urn, "changeType": "UPSERT", "aspectName": "status",
            "aspect": {"value": json.dumps({"removed": False}), "contentType": "application/json"}}
    bad = {"entityType": "dataset", "entityUrn": urn, "changeType": "PATCH", "aspectName": "status",
           "aspect": {"value": json.dumps([{"op": "remove", "path": "/removed/0"}]), "contentType": "application/json-patch+json"}}
    batch = requests.post(f"{service.url}/aspects?action=ingestProposalBatch", headers=headers, timeout=10,
                          data=json.dumps({"proposals": [good, bad]}))
    assert batch.status_code == 422 and batch.json()["message"].startswith("proposals[1]: the PATCH of status")
    assert graph.get_aspect(urn, dh.StatusClass) is None
    alone = requests.post(f"{service.url}/aspects?action=ingestProposal", headers=headers, timeout=10,
                          data=json.dumps({"proposal": good}))
    assert alone.status_code == 200
    assert graph.get_aspect(urn, dh.StatusClass) == dh.StatusClass(removed=False)


def test_unknown_aspect_names_are_refused_on_write_and_read(service):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    proposal = {"entityType": "dataset", "entityUrn": DATASET, "changeType": "UPSERT", "aspectName": "datasetPropertys",
                "aspect": {"value": "{}", "contentType": "application/json"}}
    write = requests.post(f"{service.url}/aspects?action=ingestProposal", headers=headers, timeout=10,
                          data=json.dumps({"proposal": proposal}))
    assert write.status_code == 422
    assert "'datasetPropertys' is not an aspect DataHub knows" in write.json()["message"]
    read = requests.get(f"{service.url}/aspects/{quote(DATASET, safe='')}?aspect=datasetPropertys&version=0",
                        headers=headers, timeout=10)
    assert read.status_code == 400 and read.json()["message"] == write.json()["message"].removeprefix("proposal: ")


def test_config_says_patch_capable(graph):
    assert graph.get_config()["patchCapable"] is True


def test_a_bad_patch_among_concurrent_requests_fails_alone(service, graph):
    """Concurrent requests share one write transaction; a patch that cannot apply must not take the others down."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    urns = [DATASET.replace("orders", f"concurrent_{i}") for i in range(60)]

    def send(urn: str, bad: bool) -> int:
        proposal = {"entityType": "dataset", "entityUrn": urn, "changeType": "PATCH", "aspectName": "globalTags",
                    "aspect": {"contentType": "application/json-patch+json", "value": json.dumps(
                        [{"op": "replace", "path": "/tags/urn:li:tag:absent/tag", "value": "x"}] if bad else
                        [{"op": "add", "path": "/tags/urn:li:tag:ok", "value": {"tag": "urn:li:tag:ok"}}])}}
        return requests.post(f"{service.url}/aspects?action=ingestProposal", headers=headers, timeout=30,
                             data=json.dumps({"proposal": proposal})).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(send, urns, [i % 6 == 3 for i in range(len(urns))]))
    assert statuses == [422 if i % 6 == 3 else 200 for i in range(len(urns))]
    for i, urn in enumerate(urns):
        expected = None if i % 6 == 3 else dh.GlobalTagsClass(tags=[dh.TagAssociationClass(tag="urn:li:tag:ok")])
        assert graph.get_aspect(urn, dh.GlobalTagsClass) == expected
