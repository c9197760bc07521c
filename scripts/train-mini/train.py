# Trains gpt-oss-mini on the data generate.mjs wrote, then writes the compact pack the engine unpacks.
#   python3 scripts/train-mini/train.py --data tmp/mini-data --steps 3000 --seed 0 --out tmp/mini-run
# Writes OUT/model.pt (torch state, for resuming) and OUT/gpt-oss-mini.pack (see export.py).
import argparse
import json
import math
import os
import time

import numpy as np
import torch

from model import MiniGptOss, Vocab
from export import export_pack
from import_pack import state_from_pack

VOCAB_SIZE = 201088

CONFIG = {
    "num_hidden_layers": 4,
    "hidden_size": 128,
    "intermediate_size": 128,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "sliding_window": 64,
    "rms_norm_eps": 1e-5,
    "swiglu_limit": 7.0,
    "rope_theta": 150000,
    "rope_scaling": {"beta_fast": 32.0, "beta_slow": 1.0, "factor": 32.0, "original_max_position_embeddings": 4096, "rope_type": "yarn", "truncate": False},
    "max_train_positions": 1024,
}
CONFIG["layer_types"] = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(CONFIG["num_hidden_layers"])]


def load(data):
    tokens = np.fromfile(os.path.join(data, "tokens.u32"), dtype=np.uint32)
    loss = np.fromfile(os.path.join(data, "loss.u8"), dtype=np.uint8)
    offsets = np.fromfile(os.path.join(data, "offsets.u32"), dtype=np.uint32)
    return tokens, loss, offsets


def vocabulary(data):
    """The Vocab of a data folder (generate.mjs, then vocab.mjs): the rows of the softmax's exact part are
    the data's tokens, extra.u32 and trained.u32."""
    u32 = lambda name: np.fromfile(os.path.join(data, name), dtype=np.uint32).astype(np.int64)
    trained = u32("trained.u32")
    ids = np.unique(np.concatenate([u32("tokens.u32"), u32("extra.u32"), trained]))
    return Vocab(ids, trained, u32("digits.u32"), u32("pairs.u32"), VOCAB_SIZE)


def batches(offsets, tokens_per_batch, rng):
    """Sequences of similar length together (little padding), batches in random order."""
    lengths = np.diff(offsets)
    order = np.argsort(lengths + rng.random(len(lengths)) * 8, kind="stable")
    out, cur, longest = [], [], 0
    for i in order:
        longest2 = max(longest, lengths[i])
        if cur and longest2 * (len(cur) + 1) > tokens_per_batch:
            out.append(cur)
            cur, longest2 = [], lengths[i]
        cur.append(i)
        longest = longest2
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="tmp/mini-data")
    ap.add_argument("--out", default="tmp/mini-run")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--tokens-per-batch", type=int, default=8192)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="1: on a shared machine, OpenMP threads waiting on each other cost more than they give")
    ap.add_argument("--qat-from", type=float, default=0.75, help="fraction of the steps after which experts train through MXFP4 rounding")
    ap.add_argument("--resume", default=None)
    ap.add_argument("--init-pack", default=None, help="start from a pack's weights (when its checkpoint is gone)")
    ap.add_argument("--minutes", type=float, default=0, help="stop (and export) after this many minutes")
    ap.add_argument("--sample", type=int, default=4096, help="tokens outside the exact softmax drawn each step to estimate their share")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=CONFIG["hidden_size"])
    args = ap.parse_args()
    CONFIG["hidden_size"] = CONFIG["intermediate_size"] = args.hidden
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    tokens, loss, offsets = load(args.data)
    vocab = vocabulary(args.data)
    compact = vocab.position(np.arange(VOCAB_SIZE))
    print(f"{len(offsets) - 1} sequences, {len(tokens)} tokens, {len(vocab.ids)} rows in the exact softmax ({int(vocab.trained_mask.sum())} trained)", flush=True)

    model = MiniGptOss(CONFIG, vocab)
    if args.resume:
        model.load_state_dict(torch.load(args.resume))
    elif args.init_pack:
        model.load_state_dict(state_from_pack(args.init_pack, model))
    params = sum(p.numel() for p in model.parameters())
    print(f"{params} parameters", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": other, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    # Adam's moments travel with the checkpoint: restarted from zero, its first steps move every weight
    # by about the learning rate whatever its gradient, which costs a trained model much of what it knew.
    opt_path = os.path.join(os.path.dirname(args.resume), "optimizer.pt") if args.resume else None
    if opt_path and os.path.exists(opt_path):
        opt.load_state_dict(torch.load(opt_path))

    plan = []
    started = time.time()
    step = 0
    ema = None
    while step < args.steps:
        if not plan:
            plan = batches(offsets, args.tokens_per_batch, rng)
        seqs = plan.pop()
        T = int(max(offsets[i + 1] - offsets[i] for i in seqs))
        ids = np.zeros((len(seqs), T), dtype=np.int64)
        tgt = np.full((len(seqs), T), -100, dtype=np.int64)
        for r, i in enumerate(seqs):
            a, b = offsets[i], offsets[i + 1]
            ids[r, : b - a] = compact[tokens[a:b]]
            m = loss[a + 1 : b].astype(bool)
            nxt = compact[tokens[a + 1 : b]]
            tgt[r, : b - a - 1] = np.where(m, nxt, -100)
        # Progress through the run: by steps, or by time when --minutes bounds it.
        progress = max(step / args.steps, (time.time() - started) / (args.minutes * 60) if args.minutes else 0)
        lr = args.lr * min(1, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1, progress))))
        for g in opt.param_groups:
            g["lr"] = lr
        model.quantize_experts = progress >= args.qat_from
        h = model(torch.from_numpy(ids))
        tgt = torch.from_numpy(tgt).view(-1)
        at = (tgt >= 0).nonzero(as_tuple=True)[0]  # the unembedding only where there is a loss
        logits = model.logits(h.reshape(-1, h.shape[-1])[at], vocab.sample_outside(args.sample, rng))
        l = torch.nn.functional.cross_entropy(logits, tgt[at])
        opt.zero_grad(set_to_none=True)
        l.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = l.item() if ema is None else 0.98 * ema + 0.02 * l.item()
        step += 1
        if step % 25 == 0 or step <= 3:
            el = time.time() - started
            print(f"step {step} loss {ema:.4f} lr {lr:.2e} qat {int(model.quantize_experts)} {el:.0f}s", flush=True)
        if step % 200 == 0:
            torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
            torch.save(opt.state_dict(), os.path.join(args.out, "optimizer.pt"))
        if args.minutes and time.time() - started > args.minutes * 60:
            print("time limit reached", flush=True)
            break
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
    torch.save(opt.state_dict(), os.path.join(args.out, "optimizer.pt"))
    export_pack(model, CONFIG, os.path.join(args.out, "gpt-oss-mini.pack"))
    print(f"wrote {args.out}/gpt-oss-mini.pack", flush=True)


if __name__ == "__main__":
    main()
