"""DataHub's `set_dataset_browse_path`: browsePaths from templates (PLATFORM, DATASET_PARTS, ENV)."""

from .entity_stream import AspectTransformer, Semantics, SemanticsConfig, deduplicated


class SetDatasetBrowsePathConfig(SemanticsConfig):
    path_templates: list[str]


class SetDatasetBrowsePath(AspectTransformer):
    """With PATCH, DataHub appends to the server's paths by read-modify-write; browsePaths has no patch template in
    GMS, so here PATCH writes the run's paths with the templated ones after them (warned once per run)."""

    aspect_name = "browsePaths"
    config_model = SetDatasetBrowsePathConfig
    config: SetDatasetBrowsePathConfig
    _warned = False

    def transform_aspect(self, urn, aspect, entity):
        if self.config.semantics is Semantics.PATCH and not self._warned:
            self._warned = True
            self.report.warn("set_dataset_browse_path: semantics PATCH writes the whole browsePaths aspect "
                             "(GMS cannot patch browsePaths); paths added in the catalog are replaced")
        platform, name, env = urn[len("urn:li:dataset:("):-1].split(",")
        paths = list(aspect.get("paths", [])) if aspect and not self.config.replace_existing else []
        for template in self.config.path_templates:
            paths.append(template.replace("PLATFORM", platform.replace("urn:li:dataPlatform:", ""))
                         .replace("DATASET_PARTS", name.replace(".", "/")).replace("ENV", env.lower()))
        if self.config.semantics is Semantics.PATCH:
            paths = deduplicated(paths)
        return {"paths": paths}
