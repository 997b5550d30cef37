"""The Python side of scripts/bench/yolo.sh: tests/ref/yolov8.py's YOLOv8 eval
forward, same shape and threads. Usage: yolo_bench.py SCALE IMGSZ BATCH RUNS THREADS
prints the forward's median ms."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
import torch  # noqa: E402
import yolov8  # noqa: E402

scale, imgsz, batch, runs, threads = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)
torch.manual_seed(0)
m = yolov8.YOLOv8(scale).eval()
times = []
with torch.no_grad():
    for r in range(-1, runs):
        x = torch.rand(batch, 3, imgsz, imgsz)
        t0 = time.perf_counter()
        m(x)
        if r >= 0:
            times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print("%.2f" % times[runs // 2])
