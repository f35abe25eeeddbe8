"""Weight formats of real checkpoints: what each stores, per tensor, and what it computes in.

A checkpoint quantised to "4 bits" stores more than 4 bits per weight (group
scales and zero points), and it does not quantise every tensor: GPTQ and AWQ
checkpoints keep the token embedding and the LM head in 16 bit, llama.cpp
stores its output tensor at 6.5625 bits (Q6_K) in most formats. A
:class:`WeightFormat` says, for the matrix weights of the blocks, the token
embedding, the LM head and the rest (norms, biases), how many bits one
parameter takes, and whether the matrix multiplications run in the format
itself (``"native"``: bf16, fp8 with fp8 tensor cores) or dequantise to the
activation dtype (``"activation"``: weight-only formats such as w4a16).

Sources of the bit counts (each row's ``source``):

* llama.cpp block layouts, ``ggml/src/ggml-common.h``: ``block_q4_0`` is one
  fp16 scale and 16 bytes of 4-bit values for 32 weights (18 B / 32 = 4.5
  bits), ``block_q8_0`` one fp16 scale and 32 int8 values (34 B / 32 = 8.5
  bits), ``block_q4_K`` 144 B per 256 weights (4.5 bits), ``block_q6_K`` 210 B
  per 256 weights (6.5625 bits). ``src/llama-quant.cpp`` (tensor type
  selection): the ``output.weight`` tensor is Q6_K unless the file type is
  Q8_0 (or 16/32-bit); Q4_K_M uses Q6_K for half of the ``attn_v`` and
  ``ffn_down`` tensors and Q4_K elsewhere; norms are stored in fp32.
* GPTQ/AWQ int4 (AutoAWQ ``quant_config``: ``w_bit`` 4, ``q_group_size``
  128, ``zero_point`` true): one fp16 scale and one 4-bit zero point per 128
  weights: 4 + (16 + 4) / 128 = 4.15625 bits; embeddings and LM head not
  quantised.
* fp8 (per-tensor scale, NVIDIA TensorRT Model Optimizer's default fp8
  recipe, which leaves ``lm_head`` unquantised): 8 bits.
* OCP Microscaling (MX) v1.0: MXFP4 is 32 fp4 elements sharing one 8-bit
  (E8M0) scale: 4 + 8 / 32 = 4.25 bits. NVIDIA NVFP4: 16 fp4 elements
  sharing one fp8 (E4M3) scale: 4 + 8 / 16 = 4.5 bits (plus a per-tensor
  fp32 scale, negligible).
* gpt-oss (``"mxfp4-moe"``): OpenAI's gpt-oss-20b and gpt-oss-120b
  checkpoints store only the routed experts' matrices in MXFP4 (4.25 bits);
  the Hugging Face ``config.json`` of openai/gpt-oss-20b and -120b reads
  ``"quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert":
  ["model.layers.*.self_attn", "model.layers.*.mlp.router",
  "model.embed_tokens", "lm_head"]}`` (``data/models/gpt-oss-*.json``; the
  Transformers MXFP4 documentation,
  https://huggingface.co/docs/transformers/quantization/mxfp4, prints the
  same), so attention (and its sinks), the router, the embedding, the LM head,
  norms and the experts' biases stay bf16. The model card (arXiv:2508.10925):
  "the weights are quantized to 4.25 bits per parameter" for the MoE weights.
  The format computes in the activation dtype, as a weight-only format: on
  GPUs without fp4 tensor cores the engines' MXFP4 kernels expand the fp4
  values inside the kernel and multiply at a wider precision, and the other
  matrices are bf16 anyway, so the step is timed at the device's 16-bit
  peak. A device whose only published peak is fp4 (DGX Spark) therefore
  gets a decode time (bandwidth-bound) but no prefill time; pass
  ``compute_dtype="fp4"`` to time the whole step at the fp4 peak instead
  (optimistic: attention stays bf16). A model without routed experts is
  refused by name: the format would store it as bf16.

Defined in :ref:`sec_memory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from . import formulas as F
from .architecture import Architecture

__all__ = ["WeightFormat", "WEIGHT_FORMATS", "weight_format", "Checkpoint", "checkpoint"]


@dataclass(frozen=True)
class WeightFormat:
    """How a checkpoint format stores each kind of tensor, in bits per parameter.

    ``matmul_bits``: matrix weights of the blocks; ``matmul_bits_by_record``
    overrides it for named matmul records (llama.cpp's mixes);
    ``embedding_bits`` and ``lm_head_bits``: the token embedding table and the
    output projection; ``other_bits``: norms and biases. ``compute`` is
    ``"native"`` (the matmuls run in ``dtype`` where the device has a peak for
    it) or ``"activation"`` (weights are dequantised and multiplied in the
    activation dtype). ``needs_routed_experts``: only the routed experts are
    stored in ``dtype`` (gpt-oss's ``"mxfp4-moe"``), so :func:`checkpoint`
    refuses a model that has none. Defined in :ref:`sec_memory`.
    """

    name: str
    dtype: str  # the numeric format of the stored values (a costmodel.dtypes name)
    matmul_bits: float
    embedding_bits: float
    lm_head_bits: float
    other_bits: float
    compute: str
    source: str
    matmul_bits_by_record: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    needs_routed_experts: bool = False

    @property
    def weight_only(self) -> bool:
        return self.compute == "activation"


_GGML = "llama.cpp ggml/src/ggml-common.h (block layouts) and src/llama-quant.cpp (tensor types)"
_Q6_K = 210 * 8 / 256  # 6.5625 bits
_Q4_K = 144 * 8 / 256  # 4.5 bits
_MXFP4 = 4 + 8 / 32  # 4.25 bits: 32 fp4 values and one E8M0 scale
_GPT_OSS = ("gpt-oss checkpoints: routed experts MXFP4 (OCP MX v1.0, 4.25 bits), the rest bf16: "
            "quantization_config.modules_to_not_convert of https://huggingface.co/openai/gpt-oss-120b config.json "
            "(self_attn, mlp.router, embed_tokens, lm_head); model card arXiv:2508.10925")

#: Format name -> :class:`WeightFormat` (read-only).
WEIGHT_FORMATS: Mapping[str, WeightFormat] = MappingProxyType({
    f.name: f for f in (
        WeightFormat("fp64", "fp64", 64, 64, 64, 64, "native", "IEEE 754 binary64"),
        WeightFormat("fp32", "fp32", 32, 32, 32, 32, "native", "IEEE 754 binary32"),
        WeightFormat("bf16", "bf16", 16, 16, 16, 16, "native", "bfloat16"),
        WeightFormat("fp16", "fp16", 16, 16, 16, 16, "native", "IEEE 754 binary16"),
        WeightFormat("fp8", "fp8", 8, 16, 16, 16, "native",
                     "fp8 E4M3 with a per-tensor scale; lm_head left in 16 bit (TensorRT Model Optimizer fp8 recipe)"),
        WeightFormat("int8", "int8", 8, 16, 16, 16, "activation",
                     "int8 weights with per-channel scales (negligible), w8a16; w8a8 when compute_dtype='int8'"),
        WeightFormat("int4", "int4", 4 + (16 + 4) / 128, 16, 16, 16, "activation",
                     "GPTQ/AWQ: group 128, fp16 scale and 4-bit zero point per group (AutoAWQ quant_config)"),
        WeightFormat("mxfp4", "fp4", _MXFP4, 16, 16, 16, "native",
                     "OCP Microscaling Formats (MX) v1.0: 32 fp4 values share one E8M0 scale"),
        WeightFormat("mxfp4-moe", "fp4", 16, 16, 16, 16, "activation", _GPT_OSS,
                     MappingProxyType({r: _MXFP4 for r in ("expert_gate", "expert_up", "expert_down")}),
                     needs_routed_experts=True),
        WeightFormat("nvfp4", "fp4", 4 + 8 / 16, 16, 16, 16, "native",
                     "NVIDIA NVFP4: 16 fp4 values share one fp8 E4M3 scale"),
        WeightFormat("q8_0", "int8", 34 * 8 / 32, 34 * 8 / 32, 34 * 8 / 32, 32, "activation", _GGML),
        WeightFormat("q4_0", "int4", 18 * 8 / 32, 18 * 8 / 32, _Q6_K, 32, "activation", _GGML),
        WeightFormat("q4_k_m", "int4", _Q4_K, _Q4_K, _Q6_K, 32, "activation", _GGML,
                     MappingProxyType({"v": (_Q4_K + _Q6_K) / 2, "down": (_Q4_K + _Q6_K) / 2,
                                       "expert_down": (_Q4_K + _Q6_K) / 2})),
    )
})

_ALIASES = MappingProxyType({
    "bfloat16": "bf16", "float16": "fp16", "f16": "fp16", "half": "fp16", "float32": "fp32", "f32": "fp32",
    "e4m3": "fp8", "fp8_e4m3": "fp8", "w8a16": "int8", "w4a16": "int4", "gptq": "int4", "awq": "int4",
    "q4_k": "q4_k_m", "float64": "fp64", "double": "fp64", "tf32": "fp32", "float": "fp32",
    # a plain "fp4" checkpoint is the NVFP4 the catalog's fp4 peaks (Blackwell) refer to
    "fp4": "nvfp4",
})


def weight_format(name: str, field: str = "weight_dtype") -> WeightFormat:
    """The :class:`WeightFormat` a name stands for (``"int4"``, ``"q4_k_m"``,
    ``"bf16"``...); an unknown name raises ``ValueError`` naming ``field``.
    Defined in :ref:`sec_memory`."""
    if not isinstance(name, str):
        raise ValueError(f"{field}={name!r} must be a weight format name such as 'bf16', 'int4' or 'q4_k_m'")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in WEIGHT_FORMATS:
        raise ValueError(f"{field}={name!r} is not a known weight format; known: {', '.join(WEIGHT_FORMATS)}")
    return WEIGHT_FORMATS[key]


def _record_groups(arch: Architecture):
    attention = F.MLA if arch.is_mla else F.ATTENTION
    return (("dense", attention, arch.n_layers), ("dense", F.MLP, arch.n_layers - arch.n_moe_layers),
            ("moe", F.MOE, arch.n_moe_layers))


@dataclass(frozen=True)
class Checkpoint:
    """Parameters and bytes of each kind of tensor of a model stored in a
    :class:`WeightFormat`, whole model (not per device): what the inference
    step reads and what :func:`costmodel.weight_bytes` counts. Defined in
    :ref:`sec_memory`."""

    dense_matmul_params: float  # attention, dense MLPs, shared experts, router: read whole every step
    dense_matmul_bytes: float
    per_expert_params: float  # one routed expert in one MoE block
    per_expert_bytes: float
    n_experts_total: float  # routed experts over all MoE blocks
    embedding_row_bytes: float  # one row of the token embedding table
    embedding_bytes: float
    lm_head_bytes: float  # the output projection as read for logits (the tied table when tied)
    lm_head_stored_bytes: float  # 0 when tied
    other_bytes: float  # norms, biases, MLA norms
    act_elems_dense: float  # sum of (d_in + d_out) over the dense matmuls one token uses
    act_elems_expert: float  # the same for one use of one routed expert, over all MoE blocks

    @property
    def matrix_params(self) -> float:
        """Parameters of every block matrix (dense and routed experts)."""
        return self.dense_matmul_params + self.per_expert_params * self.n_experts_total

    @property
    def matrix_bytes(self) -> float:
        return self.dense_matmul_bytes + self.per_expert_bytes * self.n_experts_total

    @property
    def total_bytes(self) -> float:
        return (self.dense_matmul_bytes + self.per_expert_bytes * self.n_experts_total + self.embedding_bytes
                + self.lm_head_stored_bytes + self.other_bytes)


@lru_cache(maxsize=256)
def checkpoint(arch: Architecture, fmt: WeightFormat) -> Checkpoint:
    if fmt.needs_routed_experts and not (arch.n_experts and arch.n_moe_layers):
        raise ValueError(f"weight format {fmt.name!r} stores only the routed experts in {fmt.dtype}, and model "
                         f"{arch.name!r} has no routed experts; it would be stored as bf16: use 'bf16'")
    dense_params = dense_bytes = act_dense = matrix_params = 0.0
    per_expert_params = per_expert_bytes = act_expert = 0.0
    for kind, records, n_blocks in _record_groups(arch):
        if not n_blocks:
            continue
        for r in records:
            bits = fmt.matmul_bits_by_record.get(r.name, fmt.matmul_bits)
            weights = arch.evaluate(r.weights)
            if not weights:  # absent in this model (no shared expert, no query bottleneck...)
                continue
            matrix_params += n_blocks * weights
            if kind == "moe" and r.name.startswith("expert_"):
                one = weights / arch.n_experts  # one expert's share of this record in one block
                per_expert_params += one
                per_expert_bytes += one * bits / 8
                act_expert += n_blocks * arch.evaluate((r.d_in + r.d_out) * r.copies) / arch.n_experts
            else:
                dense_params += n_blocks * weights
                dense_bytes += n_blocks * weights * bits / 8
                act_dense += n_blocks * arch.evaluate((r.d_in + r.d_out) * r.copies)
    lm_params = arch.vocab_size * arch.d_model
    untied_lm = 0 if arch.tied_embeddings else lm_params
    other_params = arch.n_params - arch.n_embedding_params - untied_lm - matrix_params
    return Checkpoint(
        dense_matmul_params=dense_params, dense_matmul_bytes=dense_bytes, per_expert_params=per_expert_params, per_expert_bytes=per_expert_bytes,
        n_experts_total=float(arch.n_experts * arch.n_moe_layers),
        embedding_row_bytes=arch.d_model * fmt.embedding_bits / 8,
        embedding_bytes=arch.n_embedding_params * fmt.embedding_bits / 8,
        lm_head_bytes=lm_params * (fmt.embedding_bits if arch.tied_embeddings else fmt.lm_head_bits) / 8,
        lm_head_stored_bytes=untied_lm * fmt.lm_head_bits / 8, other_bytes=other_params * fmt.other_bits / 8,
        act_elems_dense=act_dense + arch.d_model + arch.vocab_size, act_elems_expert=act_expert,
    )
