"""The Python side of the shim benchmark (scripts/bench/shim.sh).
  shim_bench.py ops N THREADS   -> "name ns_per_call" per op
  shim_bench.py lenet STEPS THREADS [BATCH] -> "ms_per_step final_loss" (median of 5)
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

mode, n, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)

if mode == "ops":
    a, m, w, b = torch.randn(4), torch.randn(4, 4), torch.randn(4, 4), torch.randn(4)
    ops = [("add", lambda: torch.add(a, a)), ("relu", lambda: torch.relu(a)), ("mul_scalar", lambda: torch.mul(a, 2.0)),
           ("sum", lambda: torch.sum(a)), ("matmul4x4", lambda: torch.matmul(m, m)),
           ("linear4", lambda: F.linear(m, w, b))]
    for name, fn in ops:
        for _ in range(n // 10):
            fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        print(name, "%.0f" % ((time.perf_counter() - t0) / n * 1e9))
else:
    torch.manual_seed(0)

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

        def forward(self, x):
            x = F.avg_pool2d(F.relu(self.conv1(x)), 2)
            x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    model = LeNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    runs = []
    for r in range(5):
        t0 = time.perf_counter()
        for s in range(n + (5 if r == 0 else 0)):
            if r == 0 and s == 5:
                t0 = time.perf_counter()
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            final = loss.item()
        runs.append((time.perf_counter() - t0) / n * 1e3)
    runs.sort()
    print("%.3f %.4f" % (runs[2], final))
