"""PyTorch reference for make bench: the U-Net of common/unet.h (base width C, 8 groups, the same
layout and parameter count), trained the same way as bench.c's U-Net entry: batch 64 of 28 x 28
images at random steps, MSE to a target, Adam (2e-4). Benchmark only: nothing else needs Python.
Prints: params <n> and images_per_s <value>."""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
torch.manual_seed(1)
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 6
C = int(sys.argv[2]) if len(sys.argv) > 2 else 16
BATCH, TEMB, G = 64, 64, 8


class ResBlock(nn.Module):
    """GN-SiLU-conv3x3, + time embedding per channel, GN-SiLU-conv3x3, + 1x1 skip when widths differ."""

    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(G, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(4 * TEMB, cout)
        self.norm2, self.conv2 = nn.GroupNorm(G, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, tact):
        h = self.conv1(F.silu(self.norm1(x))) + self.temb(tact)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (x if self.skip is None else self.skip(x))


class Unet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.temb1, self.temb2 = nn.Linear(TEMB, 4 * TEMB), nn.Linear(4 * TEMB, 4 * TEMB)
        self.stem = nn.Conv2d(1, c, 3, padding=1)
        self.rb_down1, self.down1 = ResBlock(c, c), nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.rb_down2, self.down2 = ResBlock(c, 2 * c), nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.rb_mid = ResBlock(2 * c, 2 * c)
        self.rb_up2, self.rb_up1 = ResBlock(4 * c, 2 * c), ResBlock(3 * c, c)
        self.out_norm, self.out = nn.GroupNorm(G, c), nn.Conv2d(c, 1, 3, padding=1)
        half = TEMB // 2
        self.register_buffer("freq", torch.exp(-math.log(1000.0) * torch.arange(half) / half))

    def forward(self, x, t):
        e = t[:, None] * self.freq[None, :]
        tact = F.silu(self.temb2(F.silu(self.temb1(torch.cat((torch.sin(e), torch.cos(e)), 1)))))
        s1 = self.rb_down1(self.stem(x), tact)
        s2 = self.rb_down2(self.down1(s1), tact)
        h = self.rb_mid(self.down2(s2), tact)
        h = self.rb_up2(torch.cat((F.interpolate(h, scale_factor=2, mode="nearest"), s2), 1), tact)
        h = self.rb_up1(torch.cat((F.interpolate(h, scale_factor=2, mode="nearest"), s1), 1), tact)
        return self.out(F.silu(self.out_norm(h)))


net = Unet(C)
opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8)
x = torch.randn(BATCH, 1, 28, 28)
t = (1 + torch.arange(BATCH) % 250).float()
target = torch.zeros(BATCH, 1, 28, 28)


def step():
    loss = F.mse_loss(net(x, t), target)
    opt.zero_grad()
    loss.backward()
    opt.step()


step()   # warm-up
t0 = time.perf_counter()
for _ in range(STEPS):
    step()
print("params %d" % sum(p.numel() for p in net.parameters()))
print("images_per_s %.3f" % (STEPS * BATCH / (time.perf_counter() - t0)))
