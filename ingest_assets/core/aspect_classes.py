"""DataHub's record class name of every aspect DataHub 1.7 defines, derived in one place.

GMS answers `GET /aspects/{urn}` with the aspect keyed by its class (`com.linkedin.query.QueryProperties`),
and DataHub's client looks it up by exactly that name; a wrong or missing name makes the read fail.
Nearly every aspect's class is its name, capitalized, in the namespace of its PDL model, so the table
below lists which namespace each aspect lives in, and the few named otherwise apart. Files and emitters
from DataHub carry any of them (key aspects, tags' and terms' own aspects, usage statistics, ...). The test suite checks every entry against
DataHub's own registry.
"""

_NAMESPACES: dict[str, tuple[str, ...]] = {
    "com.linkedin.access.token": ("dataHubAccessTokenInfo",),
    "com.linkedin.agentskill": ("agentSkillInfo",),
    "com.linkedin.api": ("apiProperties", "apiSignature", "restApiProperties",),
    "com.linkedin.application": ("applicationKey", "applicationLineage", "applicationProperties", "applications",),
    "com.linkedin.assertion": (
        "assertionActions", "assertionInfo", "assertionNote", "assertionRunEvent", "assertionRunSummary",
    ),
    "com.linkedin.businessattribute": ("businessAttributeInfo", "businessAttributeKey", "businessAttributes",),
    "com.linkedin.chart": ("chartInfo", "chartQuery", "chartUsageStatistics", "editableChartProperties",),
    "com.linkedin.common": (
        "access", "aiContext", "aliases", "browsePaths", "browsePathsV2", "cost", "dataPlatformInstance",
        "dataTransformLogic", "deprecation", "displayProperties", "documentation", "embed", "forms", "globalTags",
        "glossaryTerms", "incidentsSummary", "inputFields", "institutionalMemory", "operation", "origin", "ownership",
        "semanticContent", "semanticText", "siblings", "status", "subTypes", "upstreamMetrics", "versionProperties",
    ),
    "com.linkedin.connection": ("dataHubConnectionDetails",),
    "com.linkedin.container": ("container", "containerProperties", "editableContainerProperties",),
    "com.linkedin.dashboard": ("dashboardInfo", "dashboardUsageStatistics", "editableDashboardProperties",),
    "com.linkedin.datacontract": ("dataContractProperties", "dataContractStatus",),
    "com.linkedin.datajob": (
        "dataFlowInfo", "dataJobInfo", "dataJobInputOutput", "editableDataFlowProperties",
        "editableDataJobProperties", "versionInfo",
    ),
    "com.linkedin.datajob.datahub": ("datahubIngestionCheckpoint", "datahubIngestionRunSummary",),
    "com.linkedin.dataplatform": ("dataPlatformInfo",),
    "com.linkedin.dataplatform.slack": ("slackUserInfo",),
    "com.linkedin.dataplatforminstance": ("dataPlatformInstanceProperties", "icebergWarehouseInfo",),
    "com.linkedin.dataprocess": (
        "dataProcessInfo", "dataProcessInstanceInput", "dataProcessInstanceOutput", "dataProcessInstanceProperties",
        "dataProcessInstanceRelationships", "dataProcessInstanceRunEvent",
    ),
    "com.linkedin.dataproduct": ("dataProductKey", "dataProductProperties", "dataProducts",),
    "com.linkedin.dataset": (
        "datasetDeprecation", "datasetProfile", "datasetProperties", "datasetUpstreamLineage",
        "datasetUsageStatistics", "editableDatasetProperties", "icebergCatalogInfo", "partitionsSummary",
        "semanticModelProperties", "upstreamLineage", "viewProperties",
    ),
    "com.linkedin.datatype": ("dataTypeInfo", "dataTypeKey",),
    "com.linkedin.domain": ("domainProperties", "domains",),
    "com.linkedin.entitytype": ("entityTypeInfo", "entityTypeKey",),
    "com.linkedin.ermodelrelation": ("editableERModelRelationshipProperties",),
    "com.linkedin.file": ("dataHubFileInfo",),
    "com.linkedin.form": ("dynamicFormAssignment", "formInfo",),
    "com.linkedin.glossary": ("glossaryNodeInfo", "glossaryRelatedTerms", "glossaryTermInfo",),
    "com.linkedin.identity": (
        "corpGroupEditableInfo", "corpGroupInfo", "corpUserCredentials", "corpUserEditableInfo", "corpUserInfo",
        "corpUserSettings", "corpUserStatus", "groupMembership", "inviteToken", "nativeGroupMembership",
        "roleMembership",
    ),
    "com.linkedin.incident": ("incidentExternalLinks", "incidentInfo", "incidentNotes", "incidentSource",),
    "com.linkedin.ingestion": ("dataHubIngestionSourceInfo",),
    "com.linkedin.knowledge": ("documentInfo", "documentSettings", "documentUsageStatistics",),
    "com.linkedin.lifecycle": ("lifecycleStageTypeInfo",),
    "com.linkedin.logical": ("logicalParent",),
    "com.linkedin.metadata.key": (
        "agentSkillKey", "apiKey", "assertionKey", "chartKey", "containerKey", "corpGroupKey", "corpUserKey",
        "dashboardKey", "dataContractKey", "dataFlowKey", "dataHubAccessTokenKey", "dataHubActionKey",
        "dataHubConnectionKey", "dataHubFileKey", "dataHubIngestionSourceKey", "dataHubOpenAPISchemaKey",
        "dataHubPageModuleKey", "dataHubPageTemplateKey", "dataHubPersonaKey", "dataHubPolicyKey",
        "dataHubRetentionKey", "dataHubRoleKey", "dataHubSecretKey", "dataHubStepStateKey", "dataHubUpgradeKey",
        "dataHubViewKey", "dataJobKey", "dataPlatformInstanceKey", "dataPlatformKey", "dataProcessInstanceKey",
        "dataProcessKey", "datasetKey", "documentKey", "domainKey", "formKey", "globalSettingsKey", "glossaryNodeKey",
        "glossaryTermKey", "incidentKey", "inviteTokenKey", "lifecycleStageTypeKey", "metricKey", "notebookKey",
        "ownershipTypeKey", "postKey", "queryKey", "roleKey", "schemaFieldKey", "searchTemplateKey",
        "semanticModelKey", "tagKey", "telemetryKey", "testKey", "versionSetKey",
    ),
    "com.linkedin.metadata.search.features": ("storageFeatures", "usageFeatures",),
    "com.linkedin.metric": ("metricInfo", "metricRelationships", "metricUpstreams",),
    "com.linkedin.ml.metadata": ("intendedUse", "sourceCode",),
    "com.linkedin.module": ("dataHubPageModuleProperties",),
    "com.linkedin.mxe": ("systemMetadata",),
    "com.linkedin.notebook": ("editableNotebookProperties", "notebookContent", "notebookInfo",),
    "com.linkedin.ownership": ("ownershipTypeInfo",),
    "com.linkedin.persona": ("dataHubPersonaInfo",),
    "com.linkedin.platformresource": ("platformResourceInfo", "platformResourceKey",),
    "com.linkedin.policy": ("dataHubPolicyInfo", "dataHubRoleInfo",),
    "com.linkedin.post": ("postInfo",),
    "com.linkedin.query": ("queryProperties", "querySubjects", "queryUsageStatistics",),
    "com.linkedin.repository": ("repositoryKey", "repositoryLineage", "repositoryProperties", "repositorySource",),
    "com.linkedin.retention": ("dataHubRetentionConfig",),
    "com.linkedin.role": ("actors", "roleProperties",),
    "com.linkedin.schema": ("editableSchemaMetadata", "schemaMetadata",),
    "com.linkedin.schemafield": ("schemaFieldAliases",),
    "com.linkedin.search.template": ("searchTemplateProperties",),
    "com.linkedin.secret": ("dataHubSecretValue",),
    "com.linkedin.semanticmodel": ("semanticFieldAnnotation", "semanticModelInfo",),
    "com.linkedin.service": ("mcpServerProperties", "serviceDefinition", "serviceKey", "serviceProperties",),
    "com.linkedin.settings.asset": ("assetSettings",),
    "com.linkedin.settings.global": ("globalSettingsInfo",),
    "com.linkedin.step": ("dataHubStepStateProperties",),
    "com.linkedin.structured": ("structuredProperties", "structuredPropertyKey", "structuredPropertySettings",),
    "com.linkedin.tag": ("tagProperties",),
    "com.linkedin.telemetry": ("telemetryClientId",),
    "com.linkedin.template": ("dataHubPageTemplateProperties",),
    "com.linkedin.test": ("testInfo", "testResults",),
    "com.linkedin.upgrade": ("dataHubUpgradeRequest", "dataHubUpgradeResult",),
    "com.linkedin.versionset": ("versionSetProperties",),
    "com.linkedin.view": ("dataHubViewInfo",),
}

_IRREGULAR: dict[str, str] = {
    "aiAgentDependencies": "com.linkedin.agent.AIAgentDependencies",
    "aiAgentInfo": "com.linkedin.agent.AIAgentInfo",
    "aiAgentKey": "com.linkedin.metadata.key.AIAgentKey",
    "dataHubExecutionRequestInput": "com.linkedin.execution.ExecutionRequestInput",
    "dataHubExecutionRequestKey": "com.linkedin.metadata.key.ExecutionRequestKey",
    "dataHubExecutionRequestResult": "com.linkedin.execution.ExecutionRequestResult",
    "dataHubExecutionRequestSignal": "com.linkedin.execution.ExecutionRequestSignal",
    "editableMlFeatureProperties": "com.linkedin.ml.metadata.EditableMLFeatureProperties",
    "editableMlFeatureTableProperties": "com.linkedin.ml.metadata.EditableMLFeatureTableProperties",
    "editableMlModelGroupProperties": "com.linkedin.ml.metadata.EditableMLModelGroupProperties",
    "editableMlModelProperties": "com.linkedin.ml.metadata.EditableMLModelProperties",
    "editableMlPrimaryKeyProperties": "com.linkedin.ml.metadata.EditableMLPrimaryKeyProperties",
    "erModelRelationshipKey": "com.linkedin.metadata.key.ERModelRelationshipKey",
    "erModelRelationshipProperties": "com.linkedin.ermodelrelation.ERModelRelationshipProperties",
    "mlFeatureKey": "com.linkedin.metadata.key.MLFeatureKey",
    "mlFeatureProperties": "com.linkedin.ml.metadata.MLFeatureProperties",
    "mlFeatureTableKey": "com.linkedin.metadata.key.MLFeatureTableKey",
    "mlFeatureTableProperties": "com.linkedin.ml.metadata.MLFeatureTableProperties",
    "mlHyperParam": "com.linkedin.ml.metadata.MLHyperParam",
    "mlMetric": "com.linkedin.ml.metadata.MLMetric",
    "mlModelCaveatsAndRecommendations": "com.linkedin.ml.metadata.CaveatsAndRecommendations",
    "mlModelDeploymentKey": "com.linkedin.metadata.key.MLModelDeploymentKey",
    "mlModelDeploymentProperties": "com.linkedin.ml.metadata.MLModelDeploymentProperties",
    "mlModelEthicalConsiderations": "com.linkedin.ml.metadata.EthicalConsiderations",
    "mlModelEvaluationData": "com.linkedin.ml.metadata.EvaluationData",
    "mlModelFactorPrompts": "com.linkedin.ml.metadata.MLModelFactorPrompts",
    "mlModelGroupKey": "com.linkedin.metadata.key.MLModelGroupKey",
    "mlModelGroupProperties": "com.linkedin.ml.metadata.MLModelGroupProperties",
    "mlModelKey": "com.linkedin.metadata.key.MLModelKey",
    "mlModelMetrics": "com.linkedin.ml.metadata.Metrics",
    "mlModelProperties": "com.linkedin.ml.metadata.MLModelProperties",
    "mlModelQuantitativeAnalyses": "com.linkedin.ml.metadata.QuantitativeAnalyses",
    "mlModelTrainingData": "com.linkedin.ml.metadata.TrainingData",
    "mlPrimaryKeyKey": "com.linkedin.metadata.key.MLPrimaryKeyKey",
    "mlPrimaryKeyProperties": "com.linkedin.ml.metadata.MLPrimaryKeyProperties",
    "mlTrainingRunProperties": "com.linkedin.ml.metadata.MLTrainingRunProperties",
    "propertyDefinition": "com.linkedin.structured.StructuredPropertyDefinition",
    "schemafieldInfo": "com.linkedin.schemafield.SchemaFieldInfo",
}
"""Aspects whose record class is not named after the aspect."""

ASPECT_CLASSES: dict[str, str] = {
    **{name: f"{namespace}.{name[0].upper()}{name[1:]}" for namespace, names in _NAMESPACES.items() for name in names},
    **_IRREGULAR,
}
"""Aspect name -> DataHub's record class name (`status` -> `com.linkedin.common.Status`)."""

TIMESERIES_ASPECTS = frozenset({
        "assertionRunEvent", "chartUsageStatistics", "dashboardUsageStatistics", "dataProcessInstanceRunEvent",
        "datahubIngestionCheckpoint", "datahubIngestionRunSummary", "datasetProfile", "datasetUsageStatistics",
        "documentUsageStatistics", "operation", "queryUsageStatistics",
})
"""Aspects GMS keeps as time series: no versions, no PATCH, left out of `entitiesV2`, read by time."""


class UnknownAspect(ValueError):
    """An aspect name outside ASPECT_CLASSES: GMS rejects it on write, so the local service does too."""

    def __init__(self, name: str):
        super().__init__(f"aspect {name!r} is not an aspect DataHub knows (its {len(ASPECT_CLASSES)} aspects are "
                         "listed in ingest_assets/core/aspect_classes.py)")
        self.name = name


def aspect_class(name: str) -> str:
    """The record class name GMS keys this aspect by; UnknownAspect for a name it would reject."""
    try:
        return ASPECT_CLASSES[name]
    except KeyError:
        raise UnknownAspect(name) from None
