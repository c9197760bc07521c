# The compact pack: one safetensors file with every tensor of the Hugging Face gpt-oss layout under its
# own name, dtype and shape (experts as MXFP4 blocks and scales, the rest BF16), except the two
# vocabulary matrices, which hold only the trained rows:
#   model.embed_tokens.weight  BF16 [T, H]      the trained rows' embedding
#   lm_head.weight             BF16 [T + 1, H]  the trained rows' unembedding, then the shared row
#   pack.used_ids              I32 [T]          the token id of each trained row, ascending
#   pack.copy, pack.pair       F32 [H, H]       the copy and pair maps
#   pack.pairs                 I32 [P, 2]       (bare id, spaced id) of every word written both ways
# Every other token t has the embedding fixed_rows(t) and the unembedding
#   shared + embedding(t) @ copy + embedding(spaced(t)) @ pair
# and the metadata keys "config" (config.json's object) and "fixed_rows" ({"seed", "scale"} of model.py's
# fixed_rows). src/checkpoint/mini.ts unpacks it into weights/gpt-oss-mini/ (config.json,
# generation_config.json, model.safetensors).
import json
import struct

import numpy as np
import torch

from model import FIXED_SCALE, FIXED_SEED, FP4


def bf16(t):
    """float32 -> bf16 bits (round to nearest even), as uint16."""
    b = np.ascontiguousarray(t.detach().float().numpy()).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def mxfp4(w):
    """w [E, rows, cols] float -> blocks U8 [E, rows, cols/32, 16], scales U8 [E, rows, cols/32]."""
    E, R, C = w.shape
    b = w.detach().float().reshape(E, R, C // 32, 32)
    amax = b.abs().amax(-1, keepdim=True).clamp_min(1e-30)
    e = torch.ceil(torch.log2(amax / 6)).clamp(-127, 127)
    v = b / torch.exp2(e)
    mags = FP4[:8]
    code = (v.abs().unsqueeze(-1) - mags).abs().argmin(-1) + 8 * (v < 0)
    code = code.numpy().astype(np.uint8)
    blocks = (code[..., 0::2] | (code[..., 1::2] << 4)).astype(np.uint8)  # low nibble = even column
    scales = (e.squeeze(-1) + 127).numpy().astype(np.uint8)
    return blocks, scales


def hf_config(cfg, vocab_size):
    c = {
        "architectures": ["GptOssForCausalLM"], "attention_bias": True, "attention_dropout": 0.0, "eos_token_id": 200002,
        "experts_per_token": cfg["num_experts_per_tok"], "head_dim": cfg["head_dim"], "hidden_act": "silu",
        "hidden_size": cfg["hidden_size"], "initial_context_length": 4096, "initializer_range": 0.02,
        "intermediate_size": cfg["intermediate_size"], "layer_types": cfg["layer_types"], "max_position_embeddings": 4096,
        "model_type": "gpt_oss", "num_attention_heads": cfg["num_attention_heads"], "num_experts_per_tok": cfg["num_experts_per_tok"],
        "num_hidden_layers": cfg["num_hidden_layers"], "num_key_value_heads": cfg["num_key_value_heads"],
        "num_local_experts": cfg["num_local_experts"], "output_router_logits": False, "pad_token_id": 199999,
        "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"], "quant_method": "mxfp4"},
        "rms_norm_eps": cfg["rms_norm_eps"], "rope_scaling": cfg["rope_scaling"], "rope_theta": cfg["rope_theta"],
        "router_aux_loss_coef": 0.9, "sliding_window": cfg["sliding_window"], "swiglu_limit": cfg["swiglu_limit"],
        "tie_word_embeddings": False, "transformers_version": "4.55.0.dev0", "use_cache": True, "vocab_size": vocab_size,
    }
    return c


def export_pack(model, cfg, path):
    vocab_size = model.vocab.size
    H, d, nq, nkv = cfg["hidden_size"], cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    tensors = []  # (name, dtype, shape, bytes)
    add = lambda name, arr, dtype: tensors.append((name, dtype, list(arr.shape), np.ascontiguousarray(arr).tobytes()))
    for n, m in enumerate(model.layers):
        p, a, e = f"model.layers.{n}.", f"model.layers.{n}.self_attn.", f"model.layers.{n}.mlp.experts."
        add(f"{p}input_layernorm.weight", bf16(m.attn_norm), "BF16")
        q, k, v = m.qkv.split([nq * d, nkv * d, nkv * d], 0)
        qb, kb, vb = m.qkv_bias.split([nq * d, nkv * d, nkv * d], 0)
        for name, w, b in (("q_proj", q, qb), ("k_proj", k, kb), ("v_proj", v, vb)):
            add(f"{a}{name}.weight", bf16(w), "BF16")
            add(f"{a}{name}.bias", bf16(b), "BF16")
        add(f"{a}o_proj.weight", bf16(m.out), "BF16")
        add(f"{a}o_proj.bias", bf16(m.out_bias), "BF16")
        add(f"{a}sinks", bf16(m.sinks), "BF16")
        add(f"{p}post_attention_layernorm.weight", bf16(m.mlp_norm), "BF16")
        add(f"{p}mlp.router.weight", bf16(m.gate), "BF16")
        add(f"{p}mlp.router.bias", bf16(m.gate_bias), "BF16")
        blocks, scales = mxfp4(m.mlp1)
        add(f"{e}gate_up_proj_blocks", blocks, "U8")
        add(f"{e}gate_up_proj_scales", scales, "U8")
        add(f"{e}gate_up_proj_bias", bf16(m.mlp1_bias), "BF16")
        blocks, scales = mxfp4(m.mlp2)
        add(f"{e}down_proj_blocks", blocks, "U8")
        add(f"{e}down_proj_scales", scales, "U8")
        add(f"{e}down_proj_bias", bf16(m.mlp2_bias), "BF16")
    add("model.norm.weight", bf16(model.norm), "BF16")
    with torch.no_grad():
        t = torch.from_numpy(model.vocab.trained_mask)
        e_k = model.embedding_matrix()
        add("model.embed_tokens.weight", bf16(e_k[t]), "BF16")
        add("lm_head.weight", bf16(torch.cat([model.unembedding_matrix(e_k)[t], model.unembedding_shared[None, :]])), "BF16")
        add("pack.used_ids", model.vocab.ids[model.vocab.trained_mask].astype(np.int32), "I32")
        add("pack.copy", model.copy.detach().float().numpy(), "F32")
        add("pack.pair", model.pair.detach().float().numpy(), "F32")
        add("pack.pairs", model.vocab.pairs.astype(np.int32), "I32")

    meta = {"format": "gpt-oss-mini pack", "config": json.dumps(hf_config(cfg, vocab_size)),
            "fixed_rows": json.dumps({"seed": FIXED_SEED, "scale": FIXED_SCALE})}
    header, offset = {"__metadata__": meta}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for *_, data in tensors:
            f.write(data)


if __name__ == "__main__":
    # A pack from a saved checkpoint (train.py saves one every 200 steps):
    #   python3 export.py --run ../../tmp/run-a --data ../../tmp/mini-data2 --out ../../tmp/run-a/step.pack
    import argparse
    import os
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from model import MiniGptOss
    from train import CONFIG, VOCAB_SIZE, vocabulary

    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(1)
    state = torch.load(os.path.join(a.run, "model.pt"))
    cfg = dict(CONFIG)
    cfg["hidden_size"] = cfg["intermediate_size"] = state["norm"].shape[0]
    model = MiniGptOss(cfg, vocabulary(a.data))
    model.load_state_dict(state)
    export_pack(model, cfg, a.out)
    print(f"wrote {a.out}")
