#!/usr/bin/env python3
"""The baseline of `prisma bench train`: the same training step in plain PyTorch (Python).

Same model math as HookedViT (the same ops in the same order: fused q/k/v addmm, matmul
attention, addmm MLP and head), same AdamW / WarmupThenStepLR / clipping / cross-entropy,
hyperparameters read from the same preset files (resources/presets/NAME.json), batch 64.
The loop is ViT-Prisma's trainer loop: a torch DataLoader(shuffle=True) over a tensor
dataset, model(images), loss.backward(), clip_grad_norm_, optimizer.step(),
scheduler.step(), optimizer.zero_grad(). `--loader index` replaces the DataLoader by
indexing one pre-made tensor with a permutation (the cheapest input pipeline Python has),
which is what the C++ trainer does.

Images are random tensors of the preset's shape (the arithmetic does not depend on the
pixel values). Run it with Debian's python3-torch (1.13.1, the same libtorch and BLAS as
the C++ build) and the same OPENBLAS_CORETYPE / OMP_WAIT_POLICY / thread count:
bench/compare_train.sh does that. Prints one line per repetition: "<images/s>".
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
PRESETS = os.path.join(HERE, "..", "resources", "presets")
DATASET_SIZES = {"induction": 5872, "mnist": 60000, "fashion-mnist": 60000, "circle": 885}


def load_preset(name):
    with open(os.path.join(PRESETS, name + ".json")) as f:
        doc = json.load(f)
    if "extends" in doc:
        base = load_preset(doc.pop("extends"))
        for k, v in doc.items():
            if isinstance(v, dict):
                base.setdefault(k, {}).update(v)
            else:
                base[k] = v
        doc = base
    return doc


class HookedViTMath(nn.Module):
    """HookedViT's forward without hook points (they are identity calls in C++ too)."""

    def __init__(self, m):
        super().__init__()
        D, H = m["d_model"], m["n_heads"]
        dh = m.get("d_head", D // H)
        C, P, S = m["n_channels"], m["patch_size"], m["image_size"]
        T = (S // P) ** 2 + 1
        self.D, self.H, self.dh, self.C, self.P, self.S, self.attn_only = D, H, dh, C, P, S, m["attn_only"]
        z = lambda *shape: nn.Parameter(torch.zeros(*shape))
        self.cls_token = z(1, 1, D)
        self.embed_w, self.embed_b = z(D, C, P, P), z(D)
        self.W_pos = z(T, D)
        self.blocks = nn.ModuleList()
        for _ in range(m["n_layers"]):
            b = nn.Module()
            b.W_Q, b.W_K, b.W_V, b.W_O = z(H, D, dh), z(H, D, dh), z(H, D, dh), z(H, dh, D)
            b.b_Q, b.b_K, b.b_V, b.b_O = z(H, dh), z(H, dh), z(H, dh), z(D)
            if not self.attn_only:
                M = m["d_mlp"]
                b.W_in, b.b_in, b.W_out, b.b_out = z(D, M), z(M), z(M, D), z(D)
            self.blocks.append(b)
        self.W_H, self.b_H = z(D, m["n_classes"]), z(m["n_classes"])
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for name, p in self.named_parameters():
                leaf = name.rsplit(".", 1)[-1]
                if leaf.startswith("b") or leaf == "embed_b":
                    p.zero_()
                else:
                    p.normal_(0.0, 0.02, generator=g)

    def attn(self, b, x):
        B, T, D = x.shape
        H, dh = self.H, self.dh
        w_qkv = torch.cat([b.W_Q, b.W_K, b.W_V], 0).permute(1, 0, 2).reshape(D, 3 * H * dh)
        b_qkv = torch.cat([b.b_Q, b.b_K, b.b_V], 0).reshape(3 * H * dh)
        qkv = torch.addmm(b_qkv, x.reshape(B * T, D), w_qkv).view(B, T, 3, H, dh)
        q, k, v = qkv.select(2, 0), qkv.select(2, 1), qkv.select(2, 2)
        scores = torch.matmul(q.permute(0, 2, 1, 3), k.permute(0, 2, 3, 1)) * (1.0 / math.sqrt(dh))
        pattern = torch.softmax(scores, -1)
        z = torch.matmul(pattern, v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
        return torch.addmm(b.b_O, z.reshape(B * T, H * dh), b.W_O.reshape(H * dh, D)).view(B, T, D)

    def mlp(self, b, x):
        shape = x.shape
        pre = torch.addmm(b.b_in, x.reshape(-1, shape[-1]), b.W_in)
        post = F.gelu(pre)
        return torch.addmm(b.b_out, post, b.W_out).view(shape)

    def forward(self, pixels):
        B, C, S, P, D = pixels.shape[0], self.C, self.S, self.P, self.D
        g = S // P
        patches = pixels.reshape(B, C, g, P, g, P).permute(0, 2, 4, 1, 3, 5).reshape(B, g * g, C * P * P)
        x = torch.matmul(patches, self.embed_w.reshape(D, C * P * P).t()) + self.embed_b
        x = torch.cat([self.cls_token.expand(B, 1, D), x], 1)
        x = x + self.W_pos.unsqueeze(0).expand(B, self.W_pos.shape[0], D)
        for b in self.blocks:
            x = x + self.attn(b, x)
            if not self.attn_only:
                x = x + self.mlp(b, x)
        return torch.addmm(self.b_H, x.select(1, 0), self.W_H)


class WarmupThenStepLR(torch.optim.lr_scheduler._LRScheduler):
    """ViT-Prisma's scheduler, verbatim apart from its print."""

    def __init__(self, optimizer, warmup_steps, step_size, gamma=0.5, last_epoch=-1):
        self.warmup_steps, self.step_size, self.gamma = warmup_steps, step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch < self.warmup_steps:
            return [base_lr * (self.last_epoch / self.warmup_steps) for base_lr in self.base_lrs]
        return [base_lr * (self.gamma ** ((self.last_epoch - self.warmup_steps) // self.step_size))
                for base_lr in self.base_lrs]


def batches(loader_kind, X, y, batch):
    if loader_kind == "dataloader":
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch, shuffle=True)
        while True:
            for images, labels in loader:
                yield images, labels
    else:
        n = X.shape[0]
        while True:
            perm = torch.randperm(n)
            for i in range(0, n, batch):
                idx = perm[i:i + batch]
                yield X.index_select(0, idx), y.index_select(0, idx)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="induction")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    ap.add_argument("--steps", type=int, default=200, help="timed steps")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="0: all cores this process may use")
    ap.add_argument("--loader", choices=["dataloader", "index"], default="dataloader")
    a = ap.parse_args()
    torch.set_num_threads(a.threads or len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    p = load_preset(a.preset)
    m, o = p["model"], p["optimization"]
    n = DATASET_SIZES.get(p["dataset"]["name"], 10000)
    X = (torch.rand(n, m["n_channels"], m["image_size"], m["image_size"]) > 0.5).float()
    y = torch.randint(0, m["n_classes"], (n,))
    for _ in range(a.reps):
        model = HookedViTMath(m)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=tuple(o.get("betas", (0.9, 0.999))),
                                eps=o.get("eps", 1e-8), weight_decay=o["weight_decay"])
        s = o["schedule"]
        sched = WarmupThenStepLR(opt, s["warmup_steps"], s["step_size"], s["gamma"])
        clip = o.get("max_grad_norm")
        it = batches(a.loader, X, y, a.batch)
        seen = 0
        t0 = None
        for step in range(a.warmup + a.steps):
            if step == a.warmup:
                t0, seen = time.perf_counter(), 0
            images, labels = next(it)
            out = model(images)
            loss = F.cross_entropy(out, labels)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            sched.step()
            opt.zero_grad()
            loss.item()  # the C++ loop reads the loss every step too
            seen += images.shape[0]
        print(f"{seen / (time.perf_counter() - t0):.1f}", flush=True)


if __name__ == "__main__":
    main()
