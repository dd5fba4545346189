#!/usr/bin/python3
"""PyTorch as a training peer for edgefl's training benchmark.

usage: torch_train.py MODEL BATCH [STEPS] [THREADS]
  MODEL    mlp (784-200-200-10, ReLU) or cnn (32c5-p2-64c5-p2-512-10, the FedAvg paper's)
  BATCH    samples per step
  STEPS    timed steps after warm-up (default, or "-": 500 for mlp, 30 for cnn); timing stops after
           MAX_SECONDS so a slow setting (2 threads thrashing on 2 cores) cannot stall the benchmark
  THREADS  torch intra-op threads (default 1); set OMP_NUM_THREADS and OPENBLAS_NUM_THREADS to the
           same number in the environment, since BLAS reads them before this script runs

Settings match the other peers: plain SGD with lr 0.05, mean softmax cross-entropy, one fixed batch
of uniform [0, 1) inputs, labels i % 10. Prints one JSON line.
"""

import json
import statistics
import sys
import time

import torch
from torch import nn

LEARNING_RATE = 0.05
CLASSES = 10
MAX_SECONDS = 10.0
DEFAULT_STEPS = {"mlp": 500, "cnn": 30}
# The first steps allocate buffers and pick kernels; they are not what a training run spends time on.
WARMUP_STEPS = {"mlp": 20, "cnn": 3}


def build_model(name):
    if name == "mlp":
        return nn.Sequential(
            nn.Linear(784, 200), nn.ReLU(),
            nn.Linear(200, 200), nn.ReLU(),
            nn.Linear(200, CLASSES),
        )
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 512), nn.ReLU(),
            nn.Linear(512, CLASSES),
        )
    raise SystemExit(f"MODEL must be mlp or cnn, got {name!r}")


def input_shape(name, batch):
    # PyTorch's layout is NCHW: the CNN sees one 28x28 channel.
    return (batch, 784) if name == "mlp" else (batch, 1, 28, 28)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    model_name = argv[1]
    batch = int(argv[2])
    # An empty or "-" STEPS keeps the default, so THREADS can be given alone.
    steps = int(argv[3]) if len(argv) > 3 and argv[3] not in ("", "-") else DEFAULT_STEPS.get(model_name, 0)
    threads = int(argv[4]) if len(argv) > 4 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    net = build_model(model_name)
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(input_shape(model_name, batch))
    y = torch.arange(batch) % CLASSES

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS[model_name]):
        step()

    # Per-step times give the median as well as the mean: on 2 cores the tails can be long.
    durations = []
    start = time.perf_counter()
    while len(durations) < steps and time.perf_counter() - start < MAX_SECONDS:
        t0 = time.perf_counter()
        step()
        durations.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start

    print(json.dumps({
        "peer": "pytorch",
        "version": torch.__version__,
        "model": model_name,
        "batch": batch,
        "threads": threads,
        "steps": len(durations),
        "samples_per_s": len(durations) * batch / elapsed,
        "ms_per_step": 1000 * elapsed / len(durations),
        "ms_per_step_median": 1000 * statistics.median(durations),
    }))


if __name__ == "__main__":
    main(sys.argv)
