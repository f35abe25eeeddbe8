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
from .sweep import cheapest, cost_per_million_output_tokens, feasible, optimal_batch, pareto_front
from .sweep import sweep, sweep_chunks, sweep_size
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
from .prices import cloud_prices, energy_table, energy_value, price_per_device_hour
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

from .finetune import (
    distillation,
    dpo,
    federated_finetune,
    full_finetune,
    lora_finetune,
    lora_params,
    lora_targets,
    qlora_finetune,
    rlhf_ppo,
)
from .scaling import (
    SCALING_FITS,
    ScalingFit,
    chinchilla_loss,
    compute_optimal,
    inference_optimal,
    lifetime_flops,
    min_params_for_loss,
    scaling_fit,
    tokens_for_loss,
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
    "sweep", "sweep_chunks", "sweep_size", "cost_per_million_output_tokens", "feasible", "pareto_front", "cheapest",
    "optimal_batch",
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
    # fine-tuning and scaling laws (sec_finetune)
    "lora_targets",
    "lora_params",
    "full_finetune",
    "lora_finetune",
    "qlora_finetune",
    "distillation",
    "rlhf_ppo",
    "dpo",
    "federated_finetune",
    "ScalingFit",
    "SCALING_FITS",
    "scaling_fit",
    "chinchilla_loss",
    "tokens_for_loss",
    "min_params_for_loss",
    "compute_optimal",
    "lifetime_flops",
    "inference_optimal",
]
