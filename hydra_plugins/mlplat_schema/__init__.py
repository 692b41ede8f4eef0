"""Register mlplat's typed root config wherever Hydra composes in this environment.

Hydra imports every module under the `hydra_plugins` namespace while it discovers plugins (its
own launcher plugins register their configs in the ConfigStore the same way). Tools that compose
a project's `conf/` themselves, above all DVC's Hydra integration on `dvc exp run -S key=value`,
therefore find `mlplat_schema`, which `conf/config.yaml` lists first in its defaults.
"""

from mlplat.core.config import register_schemas

register_schemas()
