# crossmodal: does a learned mapping f: X -> Y bridge two embedding spaces? (Collell & Moens 2018)
import sys

from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, f"{workflow.basedir}/src")
from crossmodal.config import check_config


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


# One line per problem, naming the key; then snakemake's validate fills in the defaults.
check_config(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/sources.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/experiment1.smk"
include: "workflow/rules/experiment2.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/methods.smk"


rule all:
    input:
        PLAN.default_targets,
    default_target: True


rule methods:
    """Tables 13 and 14 (the field's cross-modal methods), their hyper-parameters, figure and page."""
    input:
        PLAN.methods.targets,
