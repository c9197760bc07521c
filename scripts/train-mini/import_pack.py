# The reverse of export.py: a pack back into train.py's model state, so training can continue from a
# shipped pack when its torch checkpoint is gone. BF16 tensors become float32, experts are dequantized
# from MXFP4 (what the engine computes with), and the vocabulary rows are matched by token id: a token
# the new data uses but the pack does not starts with a random embedding (of the trained rows' typical
# size) and the shared row's unembedding, so the pack's predictions are unchanged at the start.
#   python3 train.py --init-pack ../../weights/gpt-oss-mini.pack ...
import json
import struct

import numpy as np
import torch

from model import FP4


def read_pack(path):
    """{name: numpy array} of a safetensors file (BF16 -> float32), and its metadata."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        raw = data[info["data_offsets"][0] : info["data_offsets"][1]]
        if info["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "U8":
            a = np.frombuffer(raw, dtype=np.uint8)
        elif info["dtype"] == "I32":
            a = np.frombuffer(raw, dtype=np.int32)
        elif info["dtype"] == "F32":
            a = np.frombuffer(raw, dtype=np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, not one a pack holds")
        out[name] = a.reshape(info["shape"])
    return out, meta


def dequantize(blocks, scales):
    """blocks U8 [E, rows, cols/32, 16], scales U8 [E, rows, cols/32] -> float32 [E, rows, cols]."""
    codes = np.stack([blocks & 15, blocks >> 4], -1).reshape(*blocks.shape[:-1], 32)  # low nibble = even column
    values = FP4.numpy()[codes] * np.exp2(scales.astype(np.float32) - 127)[..., None]
    return values.reshape(*blocks.shape[:-2], -1).astype(np.float32)


def state_from_pack(path, model):
    """train.py's state dict for `model` from a pack: trained rows take the pack's rows where it has them
    (with their digit vectors folded in; digit_embedding starts at zero), the shared unembedding its shared
    row. A pack of the first layout (every used row stored, one shared row) has no copy and pair maps:
    they start at zero, its unembedding already holds what they added. A pack of the fixed-rows layout
    has them: each trained row's own unembedding is its lm_head row less what they add."""
    t, meta = read_pack(path)
    fixed = "pack.copy" in t
    num_layers = len(model.layers)
    pack_ids = t["pack.used_ids"]
    row = {int(i): r for r, i in enumerate(pack_ids)}
    vocab = model.vocab
    pick = np.array([row.get(int(i), -1) for i in vocab.ids])
    have = (pick >= 0) & vocab.trained_mask
    print(f"{path}: {int(have.sum())} of {int(vocab.trained_mask.sum())} trained rows from the pack", flush=True)
    embedding = model.embedding.detach().numpy().copy()
    embedding[have] = t["model.embed_tokens.weight"][pick[have]]
    shared = t["lm_head.weight"][-1]
    unembedding = np.tile(shared, (len(vocab.ids), 1))
    unembedding[have] = t["lm_head.weight"][pick[have]]
    H = embedding.shape[1]
    s = {
        "embedding": embedding,
        "unembedding": unembedding,
        "unembedding_shared": shared,
        "digit_embedding": np.zeros((3, 11, H)),
        "copy": t["pack.copy"] if fixed else np.zeros((H, H)),
        "pair": t["pack.pair"] if fixed else np.zeros((H, H)),
        "norm": t["model.norm.weight"],
    }
    if fixed:
        with torch.no_grad():
            model.embedding.copy_(torch.from_numpy(embedding))
            model.digit_embedding.zero_()
            model.copy.copy_(torch.from_numpy(np.array(s["copy"], dtype=np.float32)))
            model.pair.copy_(torch.from_numpy(np.array(s["pair"], dtype=np.float32)))
            e_k = model.embedding_matrix()
            added = (e_k @ model.copy + model.embedding_of(model.spaced, e_k) @ model.pair).numpy()
        unembedding[have] -= added[have]
    for n in range(num_layers):
        p, a, e = f"model.layers.{n}.", f"model.layers.{n}.self_attn.", f"model.layers.{n}.mlp.experts."
        L = f"layers.{n}."
        s[L + "attn_norm"] = t[p + "input_layernorm.weight"]
        s[L + "qkv"] = np.concatenate([t[a + x + "_proj.weight"] for x in "qkv"], 0)
        s[L + "qkv_bias"] = np.concatenate([t[a + x + "_proj.bias"] for x in "qkv"], 0)
        s[L + "out"] = t[a + "o_proj.weight"]
        s[L + "out_bias"] = t[a + "o_proj.bias"]
        s[L + "sinks"] = t[a + "sinks"]
        s[L + "mlp_norm"] = t[p + "post_attention_layernorm.weight"]
        s[L + "gate"] = t[p + "mlp.router.weight"]
        s[L + "gate_bias"] = t[p + "mlp.router.bias"]
        s[L + "mlp1"] = dequantize(t[e + "gate_up_proj_blocks"], t[e + "gate_up_proj_scales"])
        s[L + "mlp1_bias"] = t[e + "gate_up_proj_bias"]
        s[L + "mlp2"] = dequantize(t[e + "down_proj_blocks"], t[e + "down_proj_scales"])
        s[L + "mlp2_bias"] = t[e + "down_proj_bias"]
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in s.items()}
