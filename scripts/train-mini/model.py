# gpt-oss in torch, at tiny widths, written to compute exactly what the engine's forward pass computes
# (src/model/forward.ts and the reference kernels): pre-norm blocks, attention with a learned sink logit
# per head and a sliding window on even layers, YaRN RoPE on half-split pairs, a top-k router with a
# softmax over the chosen k, experts with the clamped SwiGLU (gate/linear interleaved), an untied
# unembedding. Only the rows of tokens the data uses are trainable; every other token shares one
# embedding row and one unembedding row, whose logit counts once per token it stands for.
import math

import numpy as np
import torch
import torch.nn.functional as F

FP4 = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])


def yarn_tables(head_dim, positions, theta, factor, beta_fast, beta_slow, original):
    """cos, sin [positions, head_dim/2], float32 as src/model/rope.ts computes them."""
    f = np.float32
    half = head_dim // 2
    freq = np.array([f(theta) ** f(2 * i / head_dim) for i in range(half)], dtype=np.float32)
    concentration = f(0.1 * math.log(factor) + 1)
    low = half * math.log(original / (beta_fast * 2 * math.pi)) / math.log(theta)
    high = half * math.log(original / (beta_slow * 2 * math.pi)) / math.log(theta)
    inv = np.zeros(half, dtype=np.float32)
    for i in range(half):
        ramp = min(1.0, max(0.0, (i - low) / (high - low)))
        keep = f(1 - f(ramp))
        interpolation = f(1 / f(factor * freq[i]))
        extrapolation = f(1 / freq[i])
        inv[i] = f(f(interpolation * f(1 - keep)) + f(extrapolation * keep))
    p = np.arange(positions, dtype=np.float32)[:, None]
    angle = (p * inv[None, :]).astype(np.float32)
    return (torch.from_numpy(np.cos(angle).astype(np.float32) * concentration),
            torch.from_numpy(np.sin(angle).astype(np.float32) * concentration))


def mxfp4_fake(w):
    """w [..., cols] rounded to MXFP4 (32-blocks, power-of-two scale, FP4 E2M1 codes), as export writes it."""
    shape = w.shape
    b = w.reshape(*shape[:-1], shape[-1] // 32, 32)
    amax = b.abs().amax(-1, keepdim=True).clamp_min(1e-30)
    e = torch.ceil(torch.log2(amax / 6)).clamp(-127, 127)
    v = b / torch.exp2(e)
    mags = FP4[:8].to(w.device)
    idx = (v.abs().unsqueeze(-1) - mags).abs().argmin(-1)
    q = mags[idx] * torch.sign(v) * torch.exp2(e)
    return q.reshape(shape)


FIXED_SEED = 0x6D696E69
FIXED_SCALE = 1.5


def fixed_rows(ids, H, seed=FIXED_SEED):
    """[len(ids), H] float32: the fixed embedding of tokens without a trained row, uniform in
    (-FIXED_SCALE, FIXED_SCALE) from a 32-bit hash of (id, column); src/checkpoint/mini-rows.ts computes the same."""
    M = 0xFFFFFFFF
    t = np.asarray(ids, dtype=np.uint64)[:, None]
    j = np.arange(H, dtype=np.uint64)[None, :]
    x = (t * 0x9E3779B1 + j * 0x85EBCA77 + seed) & M
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & M
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & M
    x ^= x >> 16
    u = ((x >> 8).astype(np.float64) + 0.5) / 16777216
    return ((2 * u - 1) * FIXED_SCALE).astype(np.float32)


class Vocab:
    """Which token ids have rows in the softmax's exact part (ids, ascending), which of them are trained,
    the number tokens' digits, and every word's spaced form."""

    def __init__(self, ids, trained, digits, pairs, vocab_size):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.size = vocab_size
        self.outside = vocab_size - len(self.ids)
        self.trained_mask = np.isin(self.ids, trained)
        self._pos = np.full(vocab_size, -1, dtype=np.int64)
        self._pos[self.ids] = np.arange(len(self.ids))
        self.digits = np.full((len(self.ids), 3), -1, dtype=np.int64)
        d = np.asarray(digits, dtype=np.int64).reshape(-1, 4)
        p = self._pos[d[:, 0]]
        keep = (p >= 0) & self.trained_mask[np.maximum(p, 0)]
        self.digits[p[keep]] = d[keep, 1:]
        self._spaced = np.full(vocab_size, -1, dtype=np.int64)
        pr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self._spaced[pr[:, 0]] = pr[:, 1]
        self.pairs = pr

    def position(self, ids):
        """Row of each id in self.ids; -1 for ids outside it and for -1 itself."""
        return np.where(ids >= 0, self._pos[np.maximum(ids, 0)], -1)

    def spaced_of(self, ids):
        return self._spaced[ids]

    def sample_outside(self, n, rng):
        """n distinct ids outside self.ids, drawn uniformly."""
        out = np.empty(0, dtype=np.int64)
        while len(out) < n:
            c = rng.integers(0, self.size, size=2 * n)
            out = np.unique(np.concatenate([out, c[self._pos[c] < 0]]))
        return rng.permutation(out)[:n]


def ste(w, q):
    return w + (q - w).detach()


class MiniGptOss(torch.nn.Module):
    def __init__(self, cfg, vocab):
        super().__init__()
        self.cfg = cfg
        H, d, nq, nkv, E, I, L = (cfg[k] for k in ("hidden_size", "head_dim", "num_attention_heads", "num_key_value_heads", "num_local_experts", "intermediate_size", "num_hidden_layers"))
        self.vocab = vocab
        K = len(vocab.ids)
        P = torch.nn.Parameter
        std = 0.02
        n = lambda *s, sd=std: P(torch.randn(*s) * sd)
        # Rows of the softmax's exact part (vocab.ids, ascending). Only `vocab.trained` rows learn their own
        # embedding and unembedding; every other token of the 201,088 keeps a fixed pseudo-random embedding
        # (fixed_rows: the engine's unpacker computes the same) and the shared unembedding row `unembedding_shared`.
        # Names are then copied by a circuit that works for any token, seen or not.
        self.register_buffer("fixed", torch.from_numpy(fixed_rows(vocab.ids, H)), persistent=False)
        self.embedding = P(self.fixed.clone())
        self.unembedding = n(K, H)
        self.unembedding_shared = n(H)
        self.register_buffer("trained", torch.from_numpy(vocab.trained_mask), persistent=False)
        # Number tokens "0".."999": their embedding adds one vector per (place, digit) (place 10: no digit),
        # shared by all, so the digits of a number token are there to read without learning each token.
        self.digit_embedding = P(torch.zeros(3, 11, H))
        self.register_buffer("digits", torch.from_numpy(vocab.digits), persistent=False)  # [K, 3], -1: not a number
        # The unembedding of a token is `unembedding + embedding @ copy + embedding[spaced form] @ pair`
        # (export writes it as one matrix): one shared map lets a copying circuit work for every token; the
        # pair map writes a word the question has after a space (" Oslo") in its bare form after a quote.
        self.copy = P(torch.zeros(H, H))
        self.pair = P(torch.zeros(H, H))
        self.register_buffer("spaced", torch.from_numpy(vocab.spaced_of(vocab.ids)), persistent=False)
        self.norm = P(torch.ones(H))
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.attn_norm = P(torch.ones(H))
            m.qkv = n((nq + 2 * nkv) * d, H)
            m.qkv_bias = P(torch.zeros((nq + 2 * nkv) * d))
            m.out = n(H, nq * d, sd=std / math.sqrt(2 * L))
            m.out_bias = P(torch.zeros(H))
            m.sinks = P(torch.zeros(nq))
            m.mlp_norm = P(torch.ones(H))
            m.gate = n(E, H)
            m.gate_bias = P(torch.zeros(E))
            m.mlp1 = n(E, 2 * I, H)
            m.mlp1_bias = P(torch.zeros(E, 2 * I))
            m.mlp2 = n(E, H, I, sd=std / math.sqrt(2 * L))
            m.mlp2_bias = P(torch.zeros(E, H))
            self.layers.append(m)
        cos, sin = yarn_tables(d, cfg["max_train_positions"], cfg["rope_theta"], cfg["rope_scaling"]["factor"],
                               cfg["rope_scaling"]["beta_fast"], cfg["rope_scaling"]["beta_slow"],
                               cfg["rope_scaling"]["original_max_position_embeddings"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.quantize_experts = False

    def rmsnorm(self, x, scale):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg["rms_norm_eps"]) * scale

    def rope(self, x, T):  # x [B, T, heads, d]
        half = x.shape[-1] // 2
        c, s = self.cos[:T, None, :], self.sin[:T, None, :]
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], -1)

    def forward(self, ids, embedded=None):
        """ids [B, T] in compact numbering (rows of vocab.ids), or their embedding rows `embedded`
        [B, T, H] -> hidden states after the final norm [B, T, H]."""
        cfg = self.cfg
        x = self.embedding_matrix()[ids] if embedded is None else embedded
        B, T = x.shape[:2]
        d, nq, nkv, k = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_experts_per_tok"]
        limit, alpha = cfg["swiglu_limit"], 1.702
        pos = torch.arange(T)
        causal = pos[None, :] <= pos[:, None]
        for li, m in enumerate(self.layers):
            # ---- attention ----
            h = self.rmsnorm(x, m.attn_norm)
            qkv = h @ m.qkv.T + m.qkv_bias
            q, kk, v = qkv.split([nq * d, nkv * d, nkv * d], -1)
            q = self.rope(q.view(B, T, nq, d), T)
            kk = self.rope(kk.view(B, T, nkv, d), T)
            v = v.view(B, T, nkv, d)
            g = nq // nkv
            kk = kk.repeat_interleave(g, 2)
            v = v.repeat_interleave(g, 2)
            scores = torch.einsum("bqhd,bkhd->bhqk", q, kk) / math.sqrt(d)
            mask = causal
            if cfg["layer_types"][li] == "sliding_attention":
                mask = mask & (pos[None, :] > pos[:, None] - cfg["sliding_window"])
            scores = scores.masked_fill(~mask, float("-inf"))
            sink = m.sinks.view(1, nq, 1, 1).expand(B, nq, T, 1)
            p = torch.softmax(torch.cat([scores, sink], -1), -1)[..., :T]  # the sink takes mass, gives no value
            ctx = torch.einsum("bhqk,bkhd->bqhd", p, v).reshape(B, T, nq * d)
            x = x + ctx @ m.out.T + m.out_bias
            # ---- mixture of experts ----
            h = self.rmsnorm(x, m.mlp_norm)
            logits = h @ m.gate.T + m.gate_bias
            top, idx = logits.topk(k, -1)
            weights = torch.softmax(top, -1)  # over the chosen k only
            w1 = ste(m.mlp1, mxfp4_fake(m.mlp1)) if self.quantize_experts else m.mlp1
            w2 = ste(m.mlp2, mxfp4_fake(m.mlp2)) if self.quantize_experts else m.mlp2
            hf, idxf, wf = h.reshape(B * T, -1), idx.reshape(B * T, k), weights.reshape(B * T, k)
            out = torch.zeros_like(hf)
            for e in range(m.mlp1.shape[0]):
                rows, slot = (idxf == e).nonzero(as_tuple=True)
                if rows.numel() == 0:
                    continue
                u = hf[rows] @ w1[e].T + m.mlp1_bias[e]
                gate = u[:, 0::2].clamp(max=limit)
                lin = u[:, 1::2].clamp(-limit, limit)
                act = gate * torch.sigmoid(alpha * gate) * (lin + 1)
                y = act @ w2[e].T + m.mlp2_bias[e]
                out = out.index_add(0, rows, y * wf[rows, slot].unsqueeze(-1))
            x = x + out.view(B, T, -1)
        return self.rmsnorm(x, self.norm)

    def embedding_matrix(self):
        """[K, H]: the embedding of vocab.ids' rows."""
        e = torch.where(self.trained[:, None], self.embedding, self.fixed)
        d = self.digits
        is_number = (d[:, :1] >= 0).float()
        add = sum(self.digit_embedding[p][d[:, p].clamp(min=0)] for p in range(3))
        return e + is_number * add

    def embedding_of(self, ids, e_k):
        """Embedding rows of any token ids (-1: a zero row), given embedding_matrix()."""
        pos = torch.from_numpy(self.vocab.position(ids.numpy()))
        fixed = torch.from_numpy(fixed_rows(np.maximum(ids.numpy(), 0), e_k.shape[1])) * (ids >= 0).float()[:, None]
        return torch.where((pos >= 0)[:, None], e_k[pos.clamp(min=0)], fixed)

    def unembedding_of(self, e_rows, spaced_rows, own):
        """lm_head rows: own unembedding (or the shared one) + copy and pair terms."""
        return own + e_rows @ self.copy + spaced_rows @ self.pair

    def unembedding_matrix(self, e_k=None):
        """[K, H]: what the engine's lm_head holds for vocab.ids."""
        e_k = self.embedding_matrix() if e_k is None else e_k
        own = torch.where(self.trained[:, None], self.unembedding, self.unembedding_shared[None, :])
        return self.unembedding_of(e_k, self.embedding_of(self.spaced, e_k), own)

    def logits(self, h, sample=None):
        """[..., K (+ S)]: vocab.ids' logits, then those of `sample` (ids outside vocab.ids, drawn uniformly),
        each plus log(outside / S): their sum of exponentials estimates that of all the tokens outside."""
        e_k = self.embedding_matrix()
        z = h @ self.unembedding_matrix(e_k).T
        if sample is None:
            return z
        ids = torch.from_numpy(sample)
        e_s = self.embedding_of(ids, e_k)
        sp = self.embedding_of(torch.from_numpy(self.vocab.spaced_of(sample)), e_k)
        w = self.unembedding_of(e_s, sp, self.unembedding_shared[None, :])
        return torch.cat([z, h @ w.T + math.log(self.vocab.outside / len(sample))], -1)
