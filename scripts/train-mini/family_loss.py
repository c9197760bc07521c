# Loss and next-token accuracy on the reply tokens of held-out sequences, per family, for a checkpoint
# (torch, teacher-forced): where a run stands while it trains, without generating.
#   python3 scripts/train-mini/family_loss.py --run tmp/run-d --data tmp/mini-data3 --heldout tmp/heldout
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from model import MiniGptOss  # noqa: E402
from train import CONFIG, VOCAB_SIZE, load, vocabulary  # noqa: E402

FAMILIES = ["arithmetic", "capital", "weather call", "weather answer"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True, help="the training data (its vocabulary)")
    ap.add_argument("--heldout", default="tmp/heldout", help="heldout-data.mjs's output")
    args = ap.parse_args()
    torch.set_num_threads(1)
    used, spaced = vocabulary(args.data)
    model = MiniGptOss(CONFIG, used, VOCAB_SIZE, spaced)
    model.load_state_dict(torch.load(os.path.join(args.run, "model.pt")))
    compact = np.full(VOCAB_SIZE, len(used), dtype=np.int64)
    compact[used] = np.arange(len(used))
    tokens, loss, offsets = load(args.heldout)
    family = np.fromfile(os.path.join(args.heldout, "family.u8"), dtype=np.uint8)
    total = np.zeros((len(FAMILIES), 3))  # loss sum, tokens, right
    with torch.no_grad():
        for i in range(len(offsets) - 1):
            a, b = offsets[i], offsets[i + 1]
            ids = torch.from_numpy(compact[tokens[a:b]].astype(np.int64))
            at = torch.from_numpy(loss[a + 1 : b].astype(bool))
            target = ids[1:][at]
            z = model.logits(model(ids[None])[0][:-1][at])
            total[family[i]] += [torch.nn.functional.cross_entropy(z, target, reduction="sum").item(), len(target), (z.argmax(-1) == target).sum().item()]
    for name, (l, n, right) in zip(FAMILIES, total):
        print(f"{name:15s} loss {l / max(n, 1):.4f}  next-token accuracy {right / max(n, 1):.1%}  ({int(n)} tokens)")


if __name__ == "__main__":
    main()
