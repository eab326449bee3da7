"""Model weights as a kernel service: declared by engines, fetched, verified and removed here.

Engines import the records from `polyvox` (`ModelWeights`, `HubFiles`, `UrlFile`,
`LocalFiles`, `Files`); `hub_cache` and `models_dir` say where fetched files live, and
`human_size` writes a download's size as the kernel's messages do.
"""

from polyvox.weights.service import human_size
from polyvox.weights.store import hub_cache, models_dir

__all__ = ["human_size", "hub_cache", "models_dir"]
