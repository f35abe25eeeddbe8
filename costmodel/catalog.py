"""The catalogs in ``data/``: model configs and hardware, loaded and validated once.

The files are package data: the repository's ``data/`` folder is installed as
the package ``costmodel.data`` (see ``[tool.setuptools.package-dir]`` in
pyproject.toml) and read through :func:`importlib.resources.files`, never
relative to the working directory (the book executes each notebook in its own
folder). Every row of every catalog carries ``source`` and ``retrieved``; an
empty cell means no public source was found, never zero. Loaded objects are
shared by every caller, so they are read-only, and the table functions return
copies. Book section: ``sec_hardware``.
"""

from __future__ import annotations

import difflib
import importlib.resources
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from .architecture import Architecture
from .dtypes import canonical_dtype

__all__ = [
    "DATA_DIR",
    "Hardware",
    "load_hardware",
    "hardware_table",
    "list_hardware",
    "load_model",
    "list_models",
    "model_table",
]


def _data_root() -> Traversable:
    """The installed package data; ``data/`` beside the package in a bare source tree."""
    try:
        return importlib.resources.files("costmodel.data")
    except ModuleNotFoundError:
        # Only a checkout put on sys.path without installing it (PYTHONPATH=repo)
        # gets here: costmodel.data exists through the install's package-dir mapping.
        return Path(__file__).resolve().parent.parent / "data"


#: The catalog files (a ``pathlib.Path`` whenever the package is installed
#: as files, which pip always does).
DATA_DIR = _data_root()
HARDWARE_CSV = DATA_DIR / "hardware.csv"
MODELS_DIR = DATA_DIR / "models"
MODELS_CSV = MODELS_DIR / "catalog.csv"

#: dtype -> hardware.csv column with its dense peak
PEAK_COLUMNS: Mapping[str, str] = MappingProxyType({
    "fp64": "peak_fp64_flop_per_s",
    "fp32": "peak_fp32_flop_per_s",
    "tf32": "peak_tf32_flop_per_s",
    "bf16": "peak_bf16_flop_per_s",
    "fp16": "peak_fp16_flop_per_s",
    "fp8": "peak_fp8_flop_per_s",
    "int8": "peak_int8_op_per_s",
    "int4": "peak_int4_op_per_s",
    "fp4": "peak_fp4_flop_per_s",
})
HARDWARE_CATEGORIES = (
    "datacenter-gpu", "tpu", "accelerator", "workstation-gpu", "laptop", "phone", "embedded", "cpu-server",
)


def _suggest(value: str, choices: list[str], what: str, field_name: str, listing: str) -> ValueError:
    close = difflib.get_close_matches(value.lower() if isinstance(value, str) else str(value), choices, n=5, cutoff=0.4)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"{field_name}={value!r} is not a known {what}{hint} (see costmodel.{listing}())")


# ----------------------------------------------------------------------
# Hardware
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Hardware:
    """One device of ``data/hardware.csv``: peaks, memory, bandwidth, power.

    Peaks are dense (never the 2:4-sparse figure), in FLOP/s (OP/s for
    integers). A missing value is ``nan`` and :meth:`peak_flops` refuses it.
    ``peaks_flop_per_s`` is a read-only copy of the mapping given, so a device
    loaded from the (cached) catalog is the same for every caller.
    Defined in :ref:`sec_hardware`.
    """

    id: str
    name: str
    vendor: str
    category: str
    peaks_flop_per_s: Mapping[str, float] = field(repr=False, hash=False)
    memory_bytes: float
    memory_bandwidth_bytes_per_s: float
    interconnect_bandwidth_bytes_per_s: float = math.nan
    interconnect: str = ""
    #: devices (GPUs, accelerators) per server or board of the reference
    #: system that the interconnect joins (8 for DGX/HGX); nan where none is
    #: published (a TPU pod, a laptop)
    devices_per_node: float = math.nan
    #: scale-out (InfiniBand/Ethernet) bandwidth per device, one direction,
    #: in the reference system named in ``internode``; nan where unpublished
    internode_bandwidth_bytes_per_s: float = math.nan
    internode: str = ""
    tdp_w: float = math.nan
    source: str = ""
    retrieved: str = ""
    notes: str = field(default="", repr=False, hash=False)
    #: columns of this row whose value is derived by arithmetic or comes only
    #: from a secondary source (the row's notes say which and why)
    derived_columns: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        # Every missing figure becomes the one object math.nan: tuple and dict
        # comparison match an object with itself, so two devices with the same
        # figures compare (and hash) equal even where a figure is missing.
        for f in fields(self):
            if f.name != "peaks_flop_per_s":
                object.__setattr__(self, f.name, _one_nan(getattr(self, f.name)))
        if not isinstance(self.peaks_flop_per_s, Mapping):
            raise ValueError(f"hardware {self.id!r}: peaks_flop_per_s={self.peaks_flop_per_s!r} must be a mapping "
                             "from dtype to FLOP/s")
        peaks = {k: _one_nan(v) for k, v in dict(self.peaks_flop_per_s).items()}
        object.__setattr__(self, "peaks_flop_per_s", MappingProxyType(peaks))
        self._validate()

    def _validate(self) -> None:
        where = f"hardware {self.id!r}"
        for name in ("id", "name", "vendor", "category", "interconnect", "internode", "source", "retrieved", "notes"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{where}: field {name}={getattr(self, name)!r} must be a string")
        if not self.id.strip():
            raise ValueError("hardware: field id='' must not be empty")
        if self.category not in HARDWARE_CATEGORIES:
            raise ValueError(f"{where}: category={self.category!r} is not one of {HARDWARE_CATEGORIES}")

        def rate(name, v, required=False):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{where}: {name}={v!r} must be a number (nan where no source gives it)")
            if math.isnan(v):
                if required:
                    raise ValueError(f"{where}: {name} is required and must be a positive number")
                return
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{where}: {name}={v!r} must be positive and finite (nan where unknown)")

        for k, v in self.peaks_flop_per_s.items():
            if k not in PEAK_COLUMNS:
                raise ValueError(f"{where}: peaks_flop_per_s has dtype {k!r}; known: {sorted(PEAK_COLUMNS)}")
            rate(f"peaks_flop_per_s[{k!r}]", v)
        rate("memory_bytes", self.memory_bytes)
        rate("memory_bandwidth_bytes_per_s", self.memory_bandwidth_bytes_per_s, required=True)
        rate("interconnect_bandwidth_bytes_per_s", self.interconnect_bandwidth_bytes_per_s)
        rate("internode_bandwidth_bytes_per_s", self.internode_bandwidth_bytes_per_s)
        rate("devices_per_node", self.devices_per_node)
        if math.isfinite(self.devices_per_node) and self.devices_per_node != round(self.devices_per_node):
            raise ValueError(f"{where}: devices_per_node={self.devices_per_node!r} must be a whole number "
                             "(nan where unknown)")
        rate("tdp_w", self.tdp_w)
        if not isinstance(self.derived_columns, tuple) or not all(isinstance(c, str) for c in self.derived_columns):
            raise ValueError(f"{where}: derived_columns={self.derived_columns!r} must be a tuple of column names")

    def __reduce__(self):
        # A mappingproxy cannot be pickled: rebuild from a plain dict of the peaks.
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["peaks_flop_per_s"] = dict(self.peaks_flop_per_s)
        return (_hardware_from_fields, (values,))

    def peak_flops(self, dtype: str) -> float:
        """Dense peak FLOP/s (OP/s for int8/int4) for ``dtype``.

        Raises ``ValueError`` if the dtype is unknown or the device has no
        published figure for it (the catalog leaves it empty; see its notes).
        """
        key = canonical_dtype(dtype)
        v = self.peaks_flop_per_s.get(key, math.nan)
        if not math.isfinite(v):
            have = sorted(k for k, x in self.peaks_flop_per_s.items() if math.isfinite(x))
            raise ValueError(
                f"hardware {self.id!r} has no published dense peak for dtype={dtype!r}"
                + (f"; it has {', '.join(have)}" if have else "; no compute peak is published for it")
            )
        return v

    def has_peak(self, dtype: str) -> bool:
        return math.isfinite(self.peaks_flop_per_s.get(canonical_dtype(dtype), math.nan))

    @property
    def memory_gib(self) -> float:
        """Capacity in GiB (2**30 bytes), for display only."""
        return self.memory_bytes / 2**30


def _one_nan(value):
    return math.nan if isinstance(value, float) and math.isnan(value) else value


def _hardware_from_fields(values: dict) -> Hardware:
    return Hardware(**values)


def _float(row: pd.Series, col: str, hw_id: str) -> float:
    v = row.get(col)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return math.nan
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"data/hardware.csv: {hw_id}: column {col}={v!r} is not a number") from None
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"data/hardware.csv: {hw_id}: column {col}={v!r} must be positive (leave unknown empty)")
    return x


def _derived_columns(row: pd.Series, hw_id: str) -> tuple[str, ...]:
    v = row.get("derived_columns")
    names = () if v is None or pd.isna(v) else tuple(n.strip() for n in str(v).split(";") if n.strip())
    unknown = [n for n in names if n not in row.index]
    if unknown:
        raise ValueError(f"data/hardware.csv: {hw_id}: derived_columns names unknown columns {unknown}")
    return names


@lru_cache(maxsize=None)
def _hardware_frame() -> pd.DataFrame:
    with HARDWARE_CSV.open("rb") as f:
        df = pd.read_csv(f, dtype={"id": str, "source": str, "retrieved": str, "notes": str,
                                   "derived_columns": str, "internode": str})
    for col in ("id", "source", "retrieved"):
        bad = df[df[col].isna() | (df[col].astype(str).str.strip() == "")]
        if len(bad):
            raise ValueError(f"data/hardware.csv: rows {bad.index.tolist()} have no {col}")
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise ValueError(f"data/hardware.csv: duplicate ids {dup.tolist()}")
    return df


@lru_cache(maxsize=None)
def _hardware_by_id() -> dict[str, Hardware]:
    out = {}
    for _, row in _hardware_frame().iterrows():
        hid = row["id"]
        if row["category"] not in HARDWARE_CATEGORIES:
            raise ValueError(f"data/hardware.csv: {hid}: category={row['category']!r} not in {HARDWARE_CATEGORIES}")
        mem = _float(row, "memory_bytes", hid)
        bw = _float(row, "memory_bandwidth_bytes_per_s", hid)
        if not math.isfinite(bw):
            raise ValueError(f"data/hardware.csv: {hid}: memory_bandwidth_bytes_per_s is required")
        out[hid] = Hardware(
            id=hid,
            name=str(row["name"]),
            vendor=str(row["vendor"]),
            category=str(row["category"]),
            peaks_flop_per_s={k: _float(row, c, hid) for k, c in PEAK_COLUMNS.items()},
            memory_bytes=mem,
            memory_bandwidth_bytes_per_s=bw,
            interconnect_bandwidth_bytes_per_s=_float(row, "interconnect_bandwidth_bytes_per_s", hid),
            interconnect="" if pd.isna(row.get("interconnect")) else str(row["interconnect"]),
            devices_per_node=_float(row, "devices_per_node", hid),
            internode_bandwidth_bytes_per_s=_float(row, "internode_bandwidth_bytes_per_s", hid),
            internode="" if pd.isna(row.get("internode")) else str(row["internode"]),
            tdp_w=_float(row, "tdp_w", hid),
            source=str(row["source"]),
            retrieved=str(row["retrieved"]),
            notes="" if pd.isna(row.get("notes")) else str(row["notes"]),
            derived_columns=_derived_columns(row, hid),
        )
    return out


def list_hardware() -> list[str]:
    """Ids of every device in the hardware catalog. Defined in :ref:`sec_hardware`."""
    return list(_hardware_by_id())


def load_hardware(hardware_id: str) -> Hardware:
    """The device ``hardware_id`` of ``data/hardware.csv`` (e.g. ``"h100-sxm"``).

    An unknown id raises ``ValueError`` suggesting the closest ids.
    Defined in :ref:`sec_hardware`.
    """
    table = _hardware_by_id()
    if not isinstance(hardware_id, str):
        raise ValueError(f"hardware_id={hardware_id!r} must be a catalog hardware id, a string "
                         "(see costmodel.list_hardware())")
    if hardware_id not in table:
        key = hardware_id.strip().lower()
        if key in table:
            return table[key]
        raise _suggest(hardware_id, list(table), "hardware id", "hardware_id", "list_hardware")
    return table[hardware_id]


def hardware_table() -> pd.DataFrame:
    """The hardware catalog as a DataFrame (SI units, one row per device). Defined in :ref:`sec_hardware`."""
    return _hardware_frame().copy()


# ----------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------
@lru_cache(maxsize=None)
def _model_frame() -> pd.DataFrame:
    # source/retrieved: where and when the config was read; the published count
    # names its own source in published_n_params_source.
    with MODELS_CSV.open("rb") as f:
        df = pd.read_csv(f, dtype=str)
    for col in ("id", "config_file", "source", "retrieved"):
        bad = df[df[col].isna()]
        if len(bad):
            raise ValueError(f"data/models/catalog.csv: rows {bad.index.tolist()} have no {col}")
    df["published_n_params"] = pd.to_numeric(df["published_n_params"]).astype("Int64")
    return df


def list_models() -> list[str]:
    """Ids of every model in ``data/models/catalog.csv``. Defined in :ref:`sec_notation`."""
    return _model_frame()["id"].tolist()


def load_model(model_id: str) -> Architecture:
    """The :class:`Architecture` of a catalog model (e.g. ``"llama-2-7b"``).

    An unknown id (or anything but a string) raises ``ValueError``
    suggesting the closest ids. For any other model use
    ``Architecture.from_hf_config(path_or_dict)``. Defined in
    :ref:`sec_notation`.
    """
    if not isinstance(model_id, str):
        raise ValueError(f"model_id={model_id!r} must be a catalog model id, a string (see costmodel.list_models())")
    return _load_model(model_id)


@lru_cache(maxsize=None)
def _load_model(model_id: str) -> Architecture:
    df = _model_frame()
    ids = df["id"].tolist()
    if model_id not in ids:
        raise _suggest(model_id, ids, "model id", "model_id", "list_models")
    row = df[df["id"] == model_id].iloc[0]
    with importlib.resources.as_file(MODELS_DIR / row["config_file"]) as path:
        return Architecture.from_hf_config(path, name=model_id)


def model_table() -> pd.DataFrame:
    """Every catalog model: its id (``model``) and display name (``name``),
    derived shapes and counts next to the published count. Defined in :ref:`sec_notation`."""
    df = _model_frame()
    rows = []
    for _, r in df.iterrows():
        summary = load_model(r["id"]).summary()
        # the display name sits next to the id: one name per model in the book
        s = {"model": summary.pop("model"), "name": r.get("name"), **summary}
        s["published_n_params"] = r["published_n_params"]
        s["published_n_params_source"] = r["published_n_params_source"]
        s["published_n_params_note"] = r["published_n_params_note"]
        s["hf_repo"] = r["hf_repo"]
        # optional columns: an older catalog without them still loads
        for col in ("size_class", "release_date", "license"):
            s[col] = r.get(col)
        rows.append(s)
    return pd.DataFrame(rows)
