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

Defined in :ref:`sec_memory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = ["WeightFormat", "WEIGHT_FORMATS", "weight_format"]


@dataclass(frozen=True)
class WeightFormat:
    """How a checkpoint format stores each kind of tensor, in bits per parameter.

    ``matmul_bits``: matrix weights of the blocks; ``matmul_bits_by_record``
    overrides it for named matmul records (llama.cpp's mixes);
    ``embedding_bits`` and ``lm_head_bits``: the token embedding table and the
    output projection; ``other_bits``: norms and biases. ``compute`` is
    ``"native"`` (the matmuls run in ``dtype`` where the device has a peak for
    it) or ``"activation"`` (weights are dequantised and multiplied in the
    activation dtype). Defined in :ref:`sec_memory`.
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

    @property
    def weight_only(self) -> bool:
        return self.compute == "activation"


_GGML = "llama.cpp ggml/src/ggml-common.h (block layouts) and src/llama-quant.cpp (tensor types)"
_Q6_K = 210 * 8 / 256  # 6.5625 bits
_Q4_K = 144 * 8 / 256  # 4.5 bits

#: Format name -> :class:`WeightFormat` (read-only).
WEIGHT_FORMATS: Mapping[str, WeightFormat] = MappingProxyType({
    f.name: f for f in (
        WeightFormat("fp32", "fp32", 32, 32, 32, 32, "native", "IEEE 754 binary32"),
        WeightFormat("bf16", "bf16", 16, 16, 16, 16, "native", "bfloat16"),
        WeightFormat("fp16", "fp16", 16, 16, 16, 16, "native", "IEEE 754 binary16"),
        WeightFormat("fp8", "fp8", 8, 16, 16, 16, "native",
                     "fp8 E4M3 with a per-tensor scale; lm_head left in 16 bit (TensorRT Model Optimizer fp8 recipe)"),
        WeightFormat("int8", "int8", 8, 16, 16, 16, "activation",
                     "int8 weights with per-channel scales (negligible), w8a16; w8a8 when compute_dtype='int8'"),
        WeightFormat("int4", "int4", 4 + (16 + 4) / 128, 16, 16, 16, "activation",
                     "GPTQ/AWQ: group 128, fp16 scale and 4-bit zero point per group (AutoAWQ quant_config)"),
        WeightFormat("mxfp4", "fp4", 4 + 8 / 32, 16, 16, 16, "native",
                     "OCP Microscaling Formats (MX) v1.0: 32 fp4 values share one E8M0 scale"),
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
    "q4_k": "q4_k_m", "nf4": "int4",
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
