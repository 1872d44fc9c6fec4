"""PyTorch reference for make bench: the 2D toy recipe of common/toymodel.c (toy_train), same
architecture, batch and optimiser, timed the same way. Benchmark only: nothing else needs Python.

Network: input row [x (2), sin/cos(2^k pi x) for k < 5 (20), sinusoidal time embedding (16)] = 38,
three hidden layers of 128 with SiLU, output 2 (eps_hat). DDPM loss on batches of 256 drawn from a
fixed set of 2D points, t = 1 + floor(T u^2), Adam (0.9, 0.999, 1e-8) with warm-up + cosine rate.
Prints one line: steps_per_s <value>."""
import math
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
torch.manual_seed(1)
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
BATCH, T, NDATA, FOURIER, TEMB, HIDDEN = 256, 200, 10000, 5, 16, 128

beta = torch.linspace(1e-4, 0.02, T + 1, dtype=torch.float64)
alpha_bar = torch.cumprod(1 - beta, 0).float()
data = torch.randn(NDATA, 2)
freq = torch.exp(-math.log(1000.0) * torch.arange(TEMB // 2) / (TEMB // 2))
octaves = math.pi * 2.0 ** torch.arange(FOURIER).float()

net = torch.nn.Sequential(
    torch.nn.Linear(2 * (1 + 2 * FOURIER) + TEMB, HIDDEN), torch.nn.SiLU(),
    torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.SiLU(),
    torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.SiLU(),
    torch.nn.Linear(HIDDEN, 2))
opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def lr_at(step, warmup=100, total=STEPS, lr_max=2e-3, lr_min=1e-5):
    if step < warmup:
        return lr_max * (step + 1) / warmup
    s = min(1.0, (step - warmup) / (total - warmup))
    return lr_min + (lr_max - lr_min) * 0.5 * (1 + math.cos(math.pi * s))


def features(x, t):
    w = x[:, None, :] * octaves[None, :, None]                 # (B, FOURIER, 2)
    sc = torch.stack((torch.sin(w), torch.cos(w)), -1).reshape(x.shape[0], -1)
    e = t[:, None] * freq[None, :]
    return torch.cat((x, sc, torch.sin(e), torch.cos(e)), 1)


def step(s):
    x0 = data[torch.randint(NDATA, (BATCH,))]
    t = 1 + (T * torch.rand(BATCH) ** 2).long()
    eps = torch.randn(BATCH, 2)
    ab = alpha_bar[t][:, None]
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    loss = torch.nn.functional.mse_loss(net(features(xt, t.float())), eps)
    opt.zero_grad()
    loss.backward()
    for g in opt.param_groups:
        g["lr"] = lr_at(s)
    opt.step()


for s in range(20):   # warm-up
    step(s)
t0 = time.perf_counter()
for s in range(STEPS):
    step(s)
print("steps_per_s %.3f" % (STEPS / (time.perf_counter() - t0)))
