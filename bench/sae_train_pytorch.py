#!/usr/bin/env python3
"""The plain PyTorch baseline of `prisma bench sae-train`: an SAE training loop in Python.

The same loop as the bench's plain LibTorch loop (app/cli/SaeBenchCommand.cpp) over the
same activations: rows drawn at random from a pool of a hook's activations (the .npy that
`prisma bench sae-train --save-activations FILE.npy` writes), layer-norm input
normalisation, b_dec subtracted, TopK (or ReLU + decoder-norm-weighted L1), ViT-Prisma's
batch-normalised MSE, Adam, gradient clipping at 1, decoder rows back to unit norm after
each update. Run it with Debian's python3-torch (1.13.1, the same libtorch and BLAS as the
C++ build) and the same OPENBLAS_CORETYPE / OMP_WAIT_POLICY / thread count:
bench/compare_sae_train.sh does that. Prints one line per repetition: "<activations/s>".
"""
import argparse
import time

import numpy as np
import torch

LAYER_NORM_EPS = 1e-5
LR = 1e-3
CLIP = 1.0
L1 = 2e-5
WARMUP_STEPS = 10


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("activations", help=".npy of shape [rows, d_in] (prisma bench sae-train --save-activations)")
    p.add_argument("--expansion", type=int, default=2)
    p.add_argument("--activation", choices=["topk", "relu"], default="topk")
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--rows", type=int, default=544, help="rows per update (32 induction images x 17 tokens)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="0 = leave torch's default")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    pool = torch.from_numpy(np.load(a.activations)).float()  # [n, d_in]
    d_in = pool.shape[1]
    d_sae = d_in * a.expansion
    topk = a.activation == "topk"

    for _ in range(a.reps):
        torch.manual_seed(0)
        W_enc = (torch.randn(d_in, d_sae) / d_in ** 0.5).requires_grad_()  # [d_in, d_sae]
        b_enc = torch.zeros(d_sae, requires_grad=True)
        W_dec = torch.randn(d_sae, d_in)
        W_dec = (W_dec / W_dec.norm(dim=1, keepdim=True)).requires_grad_()  # [d_sae, d_in]
        b_dec = torch.zeros(d_in, requires_grad=True)
        params = [W_enc, b_enc, W_dec, b_dec]
        adam = torch.optim.Adam(params, lr=LR)

        def update():
            x = pool[torch.randint(pool.shape[0], (a.rows,))]  # [rows, d_in]
            mu = x.mean(-1, keepdim=True)
            sd = (x - mu).std(-1, unbiased=True, keepdim=True)
            sae_in = (x - mu) / (sd + LAYER_NORM_EPS) - b_dec
            pre = torch.addmm(b_enc, sae_in, W_enc)  # [rows, d_sae]
            if topk:
                v, i = pre.topk(a.k, dim=-1)
                f = torch.zeros_like(pre).scatter(-1, i, torch.relu(v))
            else:
                f = torch.relu(pre)
            out = torch.addmm(b_dec, f, W_dec) * sd + mu  # [rows, d_in]
            norm = (x - x.mean(0, keepdim=True)).norm(dim=-1, keepdim=True)
            loss = ((out - x).pow(2) / norm).mean()
            if not topk:
                loss = loss + L1 * (f * W_dec.norm(dim=1)).sum(1).mean()
            adam.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, CLIP)
            adam.step()
            with torch.no_grad():
                W_dec.div_(W_dec.norm(dim=1, keepdim=True))

        for _ in range(WARMUP_STEPS):
            update()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            update()
        print(f"{a.steps * a.rows / (time.perf_counter() - t0):.0f}", flush=True)


if __name__ == "__main__":
    main()
