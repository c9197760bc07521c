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


def ste(w, q):
    return w + (q - w).detach()


class MiniGptOss(torch.nn.Module):
    def __init__(self, cfg, used_ids, vocab_size, spaced_rows=None):
        super().__init__()
        self.cfg = cfg
        H, d, nq, nkv, E, I, L = (cfg[k] for k in ("hidden_size", "head_dim", "num_attention_heads", "num_key_value_heads", "num_local_experts", "intermediate_size", "num_hidden_layers"))
        U = len(used_ids)
        self.shared_count = vocab_size - U  # tokens the shared row stands for
        P = torch.nn.Parameter
        std = 0.02
        n = lambda *s, sd=std: P(torch.randn(*s) * sd)
        self.embedding = n(U + 1, H, sd=1.0)  # row U: the shared row
        self.unembedding = n(U + 1, H)
        # The unembedding is `unembedding + embedding @ copy` (export writes it as one matrix): one shared
        # map lets a copying circuit work for every token, including rare ones the softmax barely trained.
        # A second map, from the spaced form of a word to its bare form (" Oslo" -> "Oslo"): a name the
        # question has after a space is written after a quote in the tool's JSON arguments.
        # spaced_rows[r]: the row of row r's spaced form, or U + 1 (a zero row) when it has none.
        self.copy = P(torch.zeros(H, H))
        self.pair = P(torch.zeros(H, H))
        if spaced_rows is None:
            spaced_rows = np.full(U + 1, U + 1)
        self.register_buffer("spaced_rows", torch.as_tensor(spaced_rows, dtype=torch.long), persistent=False)
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

    def forward(self, ids):
        """ids [B, T] in compact numbering -> hidden states after the final norm [B, T, H]; also keeps
        the router's choices (self.routing) for the trace-like statistics."""
        cfg = self.cfg
        B, T = ids.shape
        d, nq, nkv, k = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_experts_per_tok"]
        limit, alpha = cfg["swiglu_limit"], 1.702
        x = self.embedding[ids]
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

    def unembedding_matrix(self):
        """[U + 1, H]: what the engine's lm_head holds."""
        padded = torch.cat([self.embedding, self.embedding.new_zeros(1, self.embedding.shape[1])])
        return self.unembedding + self.embedding @ self.copy + padded[self.spaced_rows] @ self.pair

    def logits(self, h):
        """[..., U + 1]: the used rows, then the shared row's logit plus log(how many tokens share it)."""
        z = h @ self.unembedding_matrix().T
        return torch.cat([z[..., :-1], z[..., -1:] + math.log(self.shared_count)], -1)
