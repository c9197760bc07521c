# The real test of the export: the engine's logits (`gpt-oss-ts forward`) on the unpacked checkpoint against
# torch's, on a few training sequences, with torch's weights rounded as the pack stores them (bf16, experts
# MXFP4).   python3 scripts/train-mini/check_export.py --run tmp/mini-run --model weights/gpt-oss-mini
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from model import MiniGptOss, fixed_rows, mxfp4_fake  # noqa: E402
from train import CONFIG, VOCAB_SIZE, load, vocabulary  # noqa: E402
from export import bf16  # noqa: E402


def read_logits(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        info = header["logits"]
        f.seek(8 + n + info["data_offsets"][0])
        return np.frombuffer(f.read(info["data_offsets"][1] - info["data_offsets"][0]), dtype=np.float32).reshape(info["shape"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="tmp/mini-run")
    ap.add_argument("--model", default="weights/gpt-oss-mini")
    ap.add_argument("--data", default="tmp/mini-data")
    ap.add_argument("--sequences", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=80)
    args = ap.parse_args()
    torch.set_num_threads(1)
    vocab = vocabulary(args.data)
    state = torch.load(os.path.join(args.run, "model.pt"))
    cfg = dict(CONFIG)
    cfg["hidden_size"] = cfg["intermediate_size"] = H = state["norm"].shape[0]
    cfg["num_attention_heads"] = state["layers.0.sinks"].shape[0]
    cfg["num_key_value_heads"] = (state["layers.0.qkv"].shape[0] // cfg["head_dim"] - cfg["num_attention_heads"]) // 2
    model = MiniGptOss(cfg, vocab)
    model.load_state_dict(state)
    rounded = lambda t: torch.from_numpy((bf16(t).astype(np.uint32) << 16).view(np.float32)).view(t.shape)
    with torch.no_grad():
        # Both vocabulary matrices as the unpacker builds them (src/checkpoint/mini-rows.ts), written here
        # a second time from the pack's definition (export.py's header).
        trained = torch.from_numpy(vocab.trained_mask)
        tid = torch.from_numpy(vocab.ids[vocab.trained_mask])
        e_k = model.embedding_matrix()
        embedding = torch.from_numpy(fixed_rows(np.arange(VOCAB_SIZE), H))
        embedding[tid] = rounded(e_k[trained])
        spaced = torch.from_numpy(vocab.spaced_of(np.arange(VOCAB_SIZE)))
        pair_rows = torch.where((spaced >= 0)[:, None], embedding[spaced.clamp(min=0)], torch.zeros(1, H))
        lm_head = rounded(model.unembedding_shared)[None, :] + embedding @ model.copy + pair_rows @ model.pair
        lm_head[tid] = model.unembedding_matrix(e_k)[trained]
        lm_head = rounded(lm_head)
        embedding = rounded(embedding)
        for name, p in model.named_parameters():
            if name.endswith("mlp1") or name.endswith("mlp2"):
                p.copy_(mxfp4_fake(p))
            else:
                p.copy_(rounded(p))
    tokens, _, offsets = load(args.data)
    trained_columns = np.zeros(VOCAB_SIZE, bool)
    trained_columns[vocab.ids[vocab.trained_mask]] = True
    worst, over = 0.0, 0
    for s in range(args.sequences):
        ids = tokens[offsets[s * 7] : offsets[s * 7] + args.tokens].astype(np.int64)
        with torch.no_grad():
            h = model(None, embedded=embedding[torch.from_numpy(ids)][None])[0]
            full = (h @ lm_head.T).numpy()
            # The untrained rows of lm_head are built here and by the unpacker from the same f32 terms summed
            # in another order, so the last bf16 rounding may differ by one unit (2^-8 of the element):
            # their logits may differ by up to 2^-8 * sum_j |lm_head[t, j] * h[j]|.
            ulp = ((h.abs() @ lm_head.abs().T) * 2**-8).numpy()
        out = f"/tmp/mini-check-{s}.safetensors"
        subprocess.run(["node", "dist/src/cli/main.js", "forward", "--model", args.model, "--precision", "exact", "--tokens", ",".join(map(str, ids)), "--out", out], check=True, capture_output=True)
        engine = read_logits(out)
        d = np.abs(engine - full)
        trained, other = d[:, trained_columns].max(), d[:, ~trained_columns]
        over += int((other > 2e-2 + ulp[:, ~trained_columns]).sum())
        same = (engine.argmax(-1) == full.argmax(-1)).mean()
        worst = max(worst, trained)
        print(f"sequence {s}: {len(ids)} tokens, max |engine - torch| = {trained:.2e} over the trained tokens' logits, "
              f"{other.max():.2e} over the others' (logits up to {np.abs(full).max():.1f}), argmax agrees at {same:.0%} of positions")
    print("OK" if worst < 2e-2 and over == 0 else f"MISMATCH ({over} untrained logits beyond one bf16 unit of their row)")


if __name__ == "__main__":
    main()
