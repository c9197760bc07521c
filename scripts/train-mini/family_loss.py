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
from train import CONFIG, load, vocabulary  # noqa: E402

FAMILIES = ["arithmetic", "capital", "weather call", "weather answer"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True, help="the training data (its vocabulary)")
    ap.add_argument("--heldout", default="tmp/heldout", help="heldout-data.mjs's output")
    args = ap.parse_args()
    torch.set_num_threads(1)
    vocab = vocabulary(args.data)
    model = MiniGptOss(CONFIG, vocab)
    model.load_state_dict(torch.load(os.path.join(args.run, "model.pt")))
    tokens, loss, offsets = load(args.heldout)
    family = np.fromfile(os.path.join(args.heldout, "family.u8"), dtype=np.uint8)
    total = np.zeros((len(FAMILIES), 3))  # loss sum, tokens, right
    with torch.no_grad():
        e_k = model.embedding_matrix()
        for i in range(len(offsets) - 1):
            a, b = offsets[i], offsets[i + 1]
            ids = tokens[a:b].astype(np.int64)
            at = loss[a + 1 : b].astype(bool)
            # Tokens outside the exact softmax's rows (city pieces never seen): their own logits are added,
            # the rest of the outside is left out (the accuracy is exact, the loss slightly low).
            outside = np.unique(ids[1:][at][vocab.position(ids[1:][at]) < 0])
            column = {int(t): len(vocab.ids) + j for j, t in enumerate(outside)}
            target = torch.tensor([column.get(int(t), vocab.position(np.array([t]))[0]) for t in ids[1:][at]])
            h = model(None, embedded=model.embedding_of(torch.from_numpy(ids), e_k)[None])[0][:-1][torch.from_numpy(at)]
            z = h @ model.unembedding_matrix(e_k).T
            if len(outside):
                w = model.unembedding_of(model.embedding_of(torch.from_numpy(outside), e_k),
                                         model.embedding_of(torch.from_numpy(vocab.spaced_of(outside)), e_k), model.unembedding_shared[None, :])
                z = torch.cat([z, h @ w.T], -1)
            total[family[i]] += [torch.nn.functional.cross_entropy(z, target, reduction="sum").item(), len(target), (z.argmax(-1) == target).sum().item()]
    for name, (l, n, right) in zip(FAMILIES, total):
        print(f"{name:15s} loss {l / max(n, 1):.4f}  next-token accuracy {right / max(n, 1):.1%}  ({int(n)} tokens)")


if __name__ == "__main__":
    main()
