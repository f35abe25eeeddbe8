"""costmodel: parameters, FLOPs, memory, roofline time and cost of decoder-only
transformers on real hardware, each formula derived once in sympy.

    >>> import costmodel as cm
    >>> arch = cm.load_model("llama-2-7b")
    >>> arch.n_params
    6738415616
    >>> cm.kv_cache_bytes(arch, tokens=1, dtype="fp16")
    524288.0
"""

from .architecture import SUPPORTED_FAMILIES, Architecture
from .catalog import (
    Hardware,
    hardware_table,
    list_hardware,
    list_models,
    load_hardware,
    load_model,
    model_table,
)
from .dtypes import DTYPES, bytes_per_element
from ._validate import ArchLike, ArrayLike, HardwareLike
from .binding import evaluate, substitute
from .inference import (
    EfficiencyProfile,
    StepResult,
    decode,
    memory_per_device,
    min_devices,
    phase_roofline,
    prefill,
    serving_point,
    serving_throughput,
    weight_bytes_stored,
)
from .quantities import (
    activation_bytes,
    arithmetic_intensity,
    attainable_flop_per_s,
    devices_needed,
    forward_flops,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    kv_tokens_that_fit,
    matmul_table,
    memory_fit_table,
    prefill_flops,
    ridge_intensity,
    ridge_table,
    roofline_time_s,
    training_state_bytes,
    weight_bytes,
)
from .symbols import latex, notation_table
from .prices import (
    ApiPrice,
    DeviceOffer,
    api_cost_per_million_tokens,
    api_prices,
    cheapest_offer,
    cloud_prices,
    energy_table,
    energy_value,
    price_per_device_hour,
)
from .training import (
    MfuFit,
    Parallelism,
    default_mfu,
    hfu,
    mfu,
    published_training_runs,
    training_co2e_kg,
    training_energy_kwh,
    training_flops,
    training_memory,
    training_run,
    training_step_time,
    training_validation,
)

from .cost import (
    API_OPEN_WEIGHTS,
    EDGE_DEVICES,
    EdgeDevice,
    best_draft_tokens,
    break_even_acceptance_rate,
    co2e_kg,
    cost_per_million_tokens,
    edge_energy_per_token,
    energy_kwh,
    energy_per_million_tokens,
    speculative_decode,
    speculative_speedup,
)

__version__ = "0.1.0"

__all__ = [
    "ArchLike",
    "HardwareLike",
    "ArrayLike",
    "Architecture",
    "SUPPORTED_FAMILIES",
    "Hardware",
    "load_model",
    "load_hardware",
    "list_models",
    "list_hardware",
    "model_table",
    "hardware_table",
    "DTYPES",
    "bytes_per_element",
    "weight_bytes",
    "kv_cache_bytes",
    "kv_cache_bytes_per_token",
    "activation_bytes",
    "training_state_bytes",
    "forward_flops",
    "prefill_flops",
    "roofline_time_s",
    "arithmetic_intensity",
    "ridge_intensity",
    "phase_roofline",
    "memory_fit_table",
    "attainable_flop_per_s",
    "ridge_table",
    "devices_needed",
    "kv_tokens_that_fit",
    "matmul_table",
    "evaluate",
    "substitute",
    "prefill",
    "decode",
    "serving_throughput",
    "serving_point",
    "min_devices",
    "memory_per_device",
    "weight_bytes_stored",
    "EfficiencyProfile",
    "StepResult",
    "latex",
    "notation_table",
    # training (sec_training)
    "Parallelism",
    "MfuFit",
    "training_flops",
    "mfu",
    "hfu",
    "training_memory",
    "training_step_time",
    "training_run",
    "training_energy_kwh",
    "training_co2e_kg",
    "published_training_runs",
    "default_mfu",
    "training_validation",
    "cloud_prices",
    "price_per_device_hour",
    "energy_table",
    "energy_value",
    # cost per token (sec_cost) and speculative decoding (sec_speculative)
    "ApiPrice",
    "DeviceOffer",
    "api_prices",
    "api_cost_per_million_tokens",
    "cheapest_offer",
    "EdgeDevice",
    "EDGE_DEVICES",
    "API_OPEN_WEIGHTS",
    "energy_kwh",
    "co2e_kg",
    "cost_per_million_tokens",
    "energy_per_million_tokens",
    "edge_energy_per_token",
    "speculative_speedup",
    "break_even_acceptance_rate",
    "speculative_decode",
    "best_draft_tokens",
]
