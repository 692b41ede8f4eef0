"""What mlplat adds to Hydra wherever Hydra composes in this environment.

Hydra imports every module under the `hydra_plugins` namespace while it discovers plugins (its
own launcher plugins register their configs in the ConfigStore the same way). Tools that compose
a project's `conf/` themselves, above all DVC's Hydra integration on `dvc exp run -S key=value`,
therefore find `mlplat_schema`, which `conf/config.yaml` lists first in its defaults, and the
presets mlplat ships (`hydra/launcher=parallel`), which every project can use.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

from mlplat.core.config import register_schemas

register_schemas()


class MlplatPresets(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="mlplat", path="pkg://mlplat.hydra_presets")
