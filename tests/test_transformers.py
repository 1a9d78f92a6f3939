"""DataHub's dataset transformers, judged by DataHub's own transformer classes on the quickstart's MCPs.

For every transformer both run on the same MCPs with the same config; what each leaves per entity and aspect
(the last value, as a sink keeps it) must be equal. Where DataHub stamps the run's time (glossaryTerms'
auditStamp) ours is 0, and DataHub's `tagKey` MCPs for the tags it used are left out here (the catalog shows a
referenced tag without them; the local service, like this project, writes only the aspects it names).
"""

import copy

import pytest
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.api.common import EndOfStream, PipelineContext, RecordEnvelope
from datahub.ingestion.transformer.transform_registry import transform_registry
from pydantic import ValidationError

from ingest_assets.core import registry
from ingest_assets.core.aspects import record_mcps
from ingest_assets.core.errors import RecipeError
from ingest_assets.core.mcp import MCP
from ingest_assets.core.records import record_from_json
from ingest_assets.core.recipe import load_recipe
from ingest_assets.core.report import StageReport
from ingest_assets.stages import RunFiles, run_snapshot

from .rest_service import metadata_service, rest_recipe, run_pipeline, store_latest

DATASET = "urn:li:dataset:(urn:li:dataPlatform:sqlite,shop.orders,PROD)"


@pytest.fixture
def quickstart_mcps(shop_db, write_recipe, tmp_path) -> list[MCP]:
    """The quickstart recipe's MCPs (sqlite shop database), with one dataset carrying tags, owners and terms of its
    own so that `replace_existing` has something to keep or drop."""
    loaded = load_recipe(write_recipe(f"pipeline_name: quickstart\nsource: {{type: sqlite, config: {{path: {shop_db}, database: shop}}}}\n"
                                      f"sink: {{type: console}}\n"))
    files = RunFiles.for_pipeline("quickstart", tmp_path / "artifacts")
    run_snapshot(loaded, files)
    mcps = [mcp for line in files.snapshot.read_bytes().splitlines() for mcp in record_mcps(record_from_json(line))
            if not line.startswith(b'{"kind":"scope"')]
    extra = [MCP("dataset", DATASET, "globalTags", {"tags": [{"tag": "urn:li:tag:legacy"}, {"tag": "urn:li:tag:owner_alice"}]}),
             MCP("dataset", DATASET, "ownership", {"owners": [{"owner": "urn:li:corpuser:Bob_x", "type": "DATAOWNER"}], "ownerTypes": {},
                                                   "lastModified": {"time": 0, "actor": "urn:li:corpuser:unknown"}}),
             MCP("dataset", DATASET, "glossaryTerms", {"terms": [{"urn": "urn:li:glossaryTerm:Old"}],
                                                       "auditStamp": {"time": 0, "actor": "urn:li:corpuser:x"}})]
    at = max(i for i, m in enumerate(mcps) if m.entity_urn == DATASET) + 1
    return mcps[:at] + extra + mcps[at:]


def ours(type_name: str, config: dict, mcps: list[MCP]) -> list[MCP]:
    plugin = registry.load("transformer", type_name, "transformers[0].type")
    return list(plugin(plugin.config_model.model_validate(config), StageReport("mcps")).transform(iter(copy.deepcopy(mcps))))


def datahub(type_name: str, config: dict, mcps: list[MCP], graph=None) -> list[dict]:
    """What DataHub's own transformer emits for the same MCPs, in DataHub's file form."""
    transformer = transform_registry.get(type_name).create(copy.deepcopy(config), PipelineContext(run_id="t", graph=graph))
    envelopes = [RecordEnvelope(MetadataChangeProposalWrapper.from_obj(
        {**m._envelope({"json": copy.deepcopy(m.aspect)})}), metadata={}) for m in mcps]
    envelopes.append(RecordEnvelope(EndOfStream(), metadata={}))
    out = []
    for envelope in transformer.transform(envelopes):
        record = envelope.record
        if isinstance(record, EndOfStream):
            continue
        obj = record.to_obj(simplified_structure=True) if isinstance(record, MetadataChangeProposalWrapper) else record.to_obj()
        if obj["aspectName"] != "tagKey":
            out.append(obj)
    return out


def last_values(objs: list[dict]) -> dict[tuple[str, str, str], object]:
    """(urn, aspect, changeType) -> the last value, terms' audit time zeroed."""
    out = {}
    for obj in objs:
        wire = obj["aspect"]
        value = wire["json"] if "json" in wire else __import__("json").loads(wire["value"])
        value = copy.deepcopy(value)
        if obj["aspectName"] == "glossaryTerms" and isinstance(value, dict) and "auditStamp" in value:
            value["auditStamp"]["time"] = 0
        if obj["aspectName"] == "schemaMetadata":
            for field in value.get("fields", []):
                if "glossaryTerms" in field:
                    field["glossaryTerms"]["auditStamp"]["time"] = 0
        out[obj["entityUrn"], obj["aspectName"], obj.get("changeType", "UPSERT")] = value
    return out


def as_objs(mcps: list[MCP]) -> list[dict]:
    return [__import__("orjson").loads(m.to_file_json()) for m in mcps]


def survives_datahub(objs: list[dict]) -> None:
    """Every UPSERT reads into DataHub's classes and writes back unchanged."""
    for obj in objs:
        if obj["changeType"] == "UPSERT":
            assert MetadataChangeProposalWrapper.from_obj(copy.deepcopy(obj)).to_obj(simplified_structure=True) == obj


OVERWRITE_CASES = [
    ("simple_add_dataset_tags", {"tag_urns": ["urn:li:tag:pii", "urn:li:tag:legacy"]}),
    ("simple_add_dataset_tags", {"tag_urns": ["urn:li:tag:pii"], "replace_existing": True}),
    ("pattern_add_dataset_tags", {"tag_pattern": {"rules": {".*orders.*": ["urn:li:tag:sales"], ".*": ["urn:li:tag:all"]}}}),
    ("pattern_add_dataset_tags", {"tag_pattern": {"rules": {".*orders.*": ["urn:li:tag:sales"], ".*": ["urn:li:tag:all"]},
                                                  "first_match_only": False}}),
    ("extract_dataset_tags", {"extract_tags_regex": r"shop\.(\w+)"}),
    ("simple_add_dataset_ownership", {"owner_urns": ["urn:li:corpuser:jdoe"], "ownership_type": "TECHNICAL_OWNER"}),
    ("simple_add_dataset_ownership", {"owner_urns": ["urn:li:corpuser:jdoe"], "replace_existing": True}),
    ("simple_add_dataset_ownership", {"owner_urns": ["urn:li:corpGroup:data"], "ownership_type": "urn:li:ownershipType:steward"}),
    ("pattern_add_dataset_ownership", {"owner_pattern": {"rules": {".*orders.*": ["urn:li:corpuser:sales"]}}}),
    ("simple_remove_dataset_ownership", {}),
    ("extract_ownership_from_tags", {"tag_pattern": "owner_"}),
    ("extract_ownership_from_tags", {"tag_prefix": "owner_", "is_user": False, "email_domain": "shop.example"}),
    ("pattern_cleanup_ownership", None),
    ("mark_dataset_status", {"removed": True}),
    ("simple_add_dataset_terms", {"term_urns": ["urn:li:glossaryTerm:Sales"]}),
    ("simple_add_dataset_terms", {"term_urns": ["urn:li:glossaryTerm:Sales"], "replace_existing": True}),
    ("pattern_add_dataset_terms", {"term_pattern": {"rules": {".*customers.*": ["urn:li:glossaryTerm:PII"]}}}),
    ("pattern_add_dataset_schema_tags", {"tag_pattern": {"rules": {".*id$": ["urn:li:tag:key"], "email": ["urn:li:tag:pii"]}}}),
    ("pattern_add_dataset_schema_terms", {"term_pattern": {"rules": {"email": ["urn:li:glossaryTerm:Email"]}}}),
    ("simple_add_dataset_properties", {"properties": {"team": "sales", "tier": "1"}}),
    ("simple_add_dataset_properties", {"properties": {"team": "sales"}, "replace_existing": True}),
    ("set_dataset_browse_path", {"path_templates": ["/ENV/PLATFORM/DATASET_PARTS", "/team/x"]}),
    ("set_dataset_browse_path", {"path_templates": ["/x/PLATFORM"], "replace_existing": True}),
    ("simple_add_dataset_dataproduct", {"dataset_to_data_product_urns": {DATASET: "urn:li:dataProduct:sales"}}),
    ("pattern_add_dataset_dataproduct", {"dataset_to_data_product_urns_pattern": {"rules": {".*shop.*": "urn:li:dataProduct:shop"}}}),
]


@pytest.mark.parametrize("type_name,config", OVERWRITE_CASES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(OVERWRITE_CASES)])
def test_transformer_leaves_what_datahubs_own_leaves(type_name, config, quickstart_mcps):
    if config is None:  # DataHub cleans the server's owners (none without a server); ours cleans the run's
        config = {"pattern_for_cleanup": ["_x$"]}
        result = {(m.entity_urn, m.aspect_name): m.aspect for m in ours(type_name, config, quickstart_mcps)}
        assert result[DATASET, "ownership"]["owners"] == [{"owner": "urn:li:corpuser:Bob", "type": "TECHNICAL_OWNER"}]
        return
    mine = as_objs(ours(type_name, config, quickstart_mcps))
    theirs = datahub(type_name, config, quickstart_mcps)
    assert last_values(mine) == last_values(theirs)
    assert last_values(mine) != last_values(as_objs(quickstart_mcps))  # the case changes something
    survives_datahub(mine)


def test_tags_to_term_and_domains_by_tag_read_the_run_tags(quickstart_mcps):
    """DataHub reads these tags from the server; here from the entity's own globalTags in the run."""
    terms = {(m.entity_urn, m.aspect_name): m for m in ours("tags_to_term", {"tags": ["legacy"]}, quickstart_mcps)}
    assert terms[DATASET, "glossaryTerms"].aspect["terms"] == [{"urn": "urn:li:glossaryTerm:legacy"}]
    domains = {(m.entity_urn, m.aspect_name): m for m in ours(
        "domain_mapping_based_on_tags", {"domain_mapping": {"legacy": "urn:li:domain:old"}}, quickstart_mcps)}
    assert domains[DATASET, "domains"].aspect == {"domains": ["urn:li:domain:old"]}
    assert sum(1 for key in domains if key[1] == "domains") == 1


@pytest.mark.parametrize("type_name,config", [
    ("simple_add_dataset_domain", {"domains": ["urn:li:domain:sales"]}),
    ("pattern_add_dataset_domain", {"domain_pattern": {"rules": {".*orders.*": ["urn:li:domain:sales"]}}}),
])
def test_domains_as_datahub_sets_them(type_name, config, quickstart_mcps, tmp_path):
    """DataHub's domain transformers demand a server even in OVERWRITE (to look names up): the local service.
    Here a bare name is refused, as it would need the server."""
    from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph

    with metadata_service(tmp_path) as service, DataHubGraph(DatahubClientConfig(server=service.url)) as graph:
        theirs = datahub(type_name, config, quickstart_mcps, graph=graph)
    assert last_values(as_objs(ours(type_name, config, quickstart_mcps))) == last_values(theirs)
    with pytest.raises(ValidationError, match="give the domain's URN"):
        registry.load("transformer", type_name, "x").config_model.model_validate(
            {"domains": ["sales"]} if "simple" in type_name else {"domain_pattern": {"rules": {".*": ["sales"]}}})


PATCH_BUILDERS = {
    "simple_add_dataset_tags": ({"tag_urns": ["urn:li:tag:pii"]}, "globalTags",
                                lambda b, c: [b.add_tag(c.TagAssociationClass(t)) for t in ("urn:li:tag:legacy", "urn:li:tag:owner_alice", "urn:li:tag:pii")]),
    "simple_add_dataset_ownership": ({"owner_urns": ["urn:li:corpuser:jdoe"]}, "ownership",
                                     lambda b, c: [b.add_owner(c.OwnerClass("urn:li:corpuser:Bob_x", "DATAOWNER")),
                                                   b.add_owner(c.OwnerClass("urn:li:corpuser:jdoe", "DATAOWNER"))]),
    "simple_add_dataset_terms": ({"term_urns": ["urn:li:glossaryTerm:Sales"]}, "glossaryTerms",
                                 lambda b, c: [b.add_term(c.GlossaryTermAssociationClass(t)) for t in ("urn:li:glossaryTerm:Old", "urn:li:glossaryTerm:Sales")]),
    "simple_add_dataset_domain": ({"domains": ["urn:li:domain:sales"]}, "domains",
                                  lambda b, c: [b.add_domain(c.DomainAssociationClass("urn:li:domain:sales"))]),
}


@pytest.mark.parametrize("type_name", sorted(PATCH_BUILDERS))
def test_patch_semantics_sends_what_datahubs_patch_builders_build(type_name, quickstart_mcps):
    """PATCH: the run's own values and the added ones as DataHub's DatasetPatchBuilder would send them, one
    proposal per aspect, in place of the UPSERT (so the state keeps one hash per aspect)."""
    from datahub.metadata import schema_classes
    from datahub.specific.dataset import DatasetPatchBuilder

    config, aspect_name, build = PATCH_BUILDERS[type_name]
    result = [m for m in ours(type_name, {**config, "semantics": "patch"}, quickstart_mcps)
              if m.entity_urn == DATASET and m.aspect_name == aspect_name]
    assert [m.change_type for m in result] == ["PATCH"]
    builder = DatasetPatchBuilder(DATASET)
    build(builder, schema_classes)
    expected, = builder.build()
    assert result[0].to_rest_obj()["aspect"]["contentType"] == expected.aspect.contentType
    assert __import__("json").loads(result[0].aspect_text()) == __import__("json").loads(expected.aspect.value)
    from datahub.ingestion.sink.file import _to_obj_for_file
    assert __import__("orjson").loads(result[0].to_file_json())["aspect"] == _to_obj_for_file(expected)["aspect"]


def test_patch_of_properties_sets_fields_and_adds_each_property(quickstart_mcps):
    result = {(m.entity_urn, m.aspect_name): m for m in ours(
        "simple_add_dataset_properties", {"properties": {"team": "sales"}, "semantics": "PATCH"}, quickstart_mcps)}
    patch = result[DATASET, "datasetProperties"]
    assert patch.change_type == "PATCH"
    ops = patch.aspect
    assert {"op": "add", "path": "/customProperties/team", "value": "sales"} in ops
    assert {"op": "add", "path": "/name", "value": "orders"} in ops
    assert not any(op["path"] == "/customProperties" for op in ops)


def test_patch_joins_an_earlier_patch_and_overwrite_replaces_it(quickstart_mcps):
    first = ours("simple_add_dataset_tags", {"tag_urns": ["urn:li:tag:a"], "semantics": "PATCH"}, quickstart_mcps)
    joined = [m for m in ours("pattern_add_dataset_tags", {"tag_pattern": {"rules": {".*": ["urn:li:tag:b"]}}, "semantics": "PATCH"}, first)
              if m.entity_urn == DATASET and m.aspect_name == "globalTags"]
    assert len(joined) == 1 and [op["value"]["tag"] for op in joined[0].aspect["patch"]][-2:] == ["urn:li:tag:a", "urn:li:tag:b"]
    replaced = [m for m in ours("simple_add_dataset_tags", {"tag_urns": ["urn:li:tag:c"]}, first)
                if m.entity_urn == DATASET and m.aspect_name == "globalTags"]
    assert [(m.change_type, m.aspect) for m in replaced] == [("UPSERT", {"tags": [{"tag": "urn:li:tag:c"}]})]


def test_containers_get_owners_from_the_browse_paths_of_matching_datasets(quickstart_mcps):
    out = ours("pattern_add_dataset_ownership", {"owner_pattern": {"rules": {".*orders.*": ["urn:li:corpuser:sales"]}},
                                                 "is_container": True}, quickstart_mcps)
    containers = [m for m in out if m.entity_type == "container" and m.aspect_name == "ownership"]
    assert len(containers) == 1 and containers[0].change_type == "PATCH"
    assert containers[0].aspect["patch"][0]["value"] == {"owner": "urn:li:corpuser:sales", "type": "DATAOWNER"}


def test_callable_forms_and_custom_classes_by_dotted_path(quickstart_mcps, write_recipe, shop_db):
    tags = ours("add_dataset_tags", {"get_tags_to_add": "tests.transformer_callables.tags_for"}, quickstart_mcps)
    assert {"tag": "urn:li:tag:orders"} in next(m for m in tags if m.entity_urn == DATASET and m.aspect_name == "globalTags").aspect["tags"]
    owners = ours("add_dataset_ownership", {"get_owners_to_add": "tests.transformer_callables.owners_for"}, quickstart_mcps)
    assert next(m for m in owners if m.entity_urn == DATASET and m.aspect_name == "ownership").aspect["owners"][-1]["owner"] == "urn:li:corpuser:o"
    props = ours("add_dataset_properties", {"add_properties_resolver_class": "tests.transformer_callables.Resolver"}, quickstart_mcps)
    assert next(m for m in props if m.entity_urn == DATASET and m.aspect_name == "datasetProperties").aspect["customProperties"]["urn"] == DATASET
    recipe = write_recipe(f"source: {{type: sqlite, config: {{path: {shop_db}, database: shop}}}}\nsink: {{type: console}}\n"
                          "transformers: [{type: tests.transformer_callables.DropStatus, config: {}}]\n")
    assert load_recipe(recipe).transformers[0][0].__name__ == "DropStatus"
    with pytest.raises(RecipeError, match="not a transformer class"):
        load_recipe(write_recipe(recipe.read_text().replace("DropStatus", "tags_for"), "bad.yml"))
    with pytest.raises(ValidationError, match="cannot import"):
        registry.load("transformer", "add_dataset_tags", "x").config_model.model_validate({"get_tags_to_add": "nowhere.fn"})


def test_datahub_keys_are_accepted_with_datahubs_defaults():
    config = registry.load("transformer", "simple_add_dataset_ownership", "x").config_model.model_validate({"owner_urns": ["urn:li:corpuser:a"]})
    assert (config.semantics.value, config.replace_existing, config.ownership_type, config.default_actor) == \
        ("OVERWRITE", False, "DATAOWNER", "urn:li:corpuser:etl")
    with pytest.raises(ValidationError, match="unexpected ownership type"):
        config.model_validate({"owner_urns": [], "ownership_type": "BOSS"})
    with pytest.raises(ValidationError, match="two different data product"):
        registry.load("transformer", "pattern_add_dataset_dataproduct", "x").config_model.model_validate(
            {"dataset_to_data_product_urns_pattern": {"rules": {".*": ["urn:li:dataProduct:a", "urn:li:dataProduct:b"]}}})


def test_patch_keeps_a_tag_added_in_the_catalog_before_the_run(shop_db, write_recipe, tmp_path):
    """A run with PATCH semantics through `ingest-assets serve`: the tag someone added in the UI stays beside the
    run's tag; an OVERWRITE run replaces it. A second PATCH run sends nothing (unchanged), a changed config re-sends."""
    import requests

    source = f"  type: sqlite\n  config: {{path: {shop_db}, database: shop}}"
    with metadata_service(tmp_path) as service:
        ui_tag = {"entityType": "dataset", "entityUrn": DATASET, "changeType": "UPSERT", "aspectName": "globalTags",
                  "aspect": {"value": '{"tags": [{"tag": "urn:li:tag:ui"}]}', "contentType": "application/json"}}
        requests.post(f"{service.url}/aspects?action=ingestProposal", json={"proposal": ui_tag}, timeout=10).raise_for_status()

        def run(semantics: str, tag: str, name: str):
            recipe = rest_recipe(source, service.url, pipeline=f"tags_{semantics}") + (
                f"transformers:\n  - type: simple_add_dataset_tags\n    config: {{tag_urns: ['{tag}'], semantics: {semantics}}}\n")
            report = run_pipeline(write_recipe(recipe, name), tmp_path / "artifacts")
            store = service.store()
            try:
                return report, store_latest(store)[DATASET, "globalTags"]["tags"]
            finally:
                store.close()

        report, tags = run("PATCH", "urn:li:tag:run", "patch.yml")
        assert tags == [{"tag": "urn:li:tag:ui"}, {"tag": "urn:li:tag:run"}]
        again, _ = run("PATCH", "urn:li:tag:run", "patch.yml")
        assert again.counts["sent"] == 0
        changed, tags = run("PATCH", "urn:li:tag:other", "patch.yml")
        sent = [MCP.from_line(line) for line in RunFiles.for_pipeline("tags_PATCH", tmp_path / "artifacts").mcps.read_bytes().splitlines()]
        assert changed.counts["sent"] == len(sent) > 0 and {(m.aspect_name, m.change_type) for m in sent} == {("globalTags", "PATCH")}
        assert {"tag": "urn:li:tag:ui"} in tags
        _, tags = run("OVERWRITE", "urn:li:tag:run", "overwrite.yml")
        assert tags == [{"tag": "urn:li:tag:run"}]
