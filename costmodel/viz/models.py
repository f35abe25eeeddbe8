"""Tables of the model catalog (book section ``sec_models``).

Every number comes from :func:`costmodel.model_table` (the derived counts and
the catalog's columns) and :func:`costmodel.kv_cache_bytes_per_token`; this
module only selects, sorts and scales them for display.
"""

from __future__ import annotations

import pandas as pd

from ..catalog import model_table
from ..quantities import kv_cache_bytes_per_token

__all__ = ["model_catalog_table"]


def model_catalog_table(dtype: str = "bf16") -> pd.DataFrame:
    """Every catalog model, one row each, smallest first, by its display name
    (the catalog's ``name``, the one the book uses): family, size class,
    release date and licence (as the catalog records them), total and active
    parameters in billions (1e9), KV-cache kilobytes (1e3 bytes) per token in
    ``dtype`` while the context is within every sliding window, the longest
    context the config allows (``max_position_embeddings``) and the parts of
    the checkpoint the counts leave out. Defined in :ref:`sec_models`."""
    t = model_table().sort_values("n_params", kind="stable")
    return pd.DataFrame({
        "model": t["name"].fillna(t["model"]),
        "family": t["family"],
        "size class": t["size_class"],
        "released": t["release_date"],
        "licence": t["license"],
        "parameters (B)": t["n_params"] / 1e9,
        "active (B)": t["n_active_params"] / 1e9,
        f"KV kB/token ({dtype})": [kv_cache_bytes_per_token(m, dtype) / 1e3 for m in t["model"]],
        "max positions": t["max_position_embeddings"].astype("Int64"),
        "left out of the count": t["excluded_parts"],
    }).reset_index(drop=True)
