#!/usr/bin/env bash
# lab explain: by id, by error text, from stdin, --list, unknown ids.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

out=$("$LAB_BIN" explain TS-DTYPE-MISMATCH)
expect_match "$out" '^TS-DTYPE-MISMATCH: '
expect_match "$out" '^## Fixes'
out=$("$LAB_BIN" explain 'Input type (torch.cuda.FloatTensor) and weight type (torch.cuda.HalfTensor) should be the same')
expect_match "$(printf '%s\n' "$out" | head -1)" '^TS-DTYPE-MISMATCH: '
out=$(printf 'Traceback...\nRuntimeError: expected scalar type Float but found BFloat16\n' | "$LAB_BIN" explain -)
expect_match "$(printf '%s\n' "$out" | head -1)" '^TS-DTYPE-MISMATCH: '
out=$("$LAB_BIN" explain --list)
expect_match "$out" '^TS-DTYPE-MISMATCH +Input and weights'
expect_exit 2 "$LAB_BIN" explain TS-DTYPE-MISMACH
expect_match "$LAST_ERR" 'did you mean TS-DTYPE-MISMATCH'
expect_exit 1 "$LAB_BIN" explain 'a message nobody ever wrote down'
expect_exit 2 "$LAB_BIN" explain
# Real error texts rank the right entry first (the course's most common failures).
expect_first() { # EXPECTED-ID TEXT
  local top
  top=$(printf '%s\n' "$2" | "$LAB_BIN" explain - | head -1)
  expect_match "$top" "^$1: "
}
expect_first TS-CUDA-OOM 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 119.70 GiB of which 1.06 GiB is free. If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.'
expect_first TS-SAM-OOM '  File "/usr/local/lib/python3.10/dist-packages/segment_anything/modeling/image_encoder.py", line 112, in forward
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.53 GiB.'
expect_first TS-STATE-DICT-MISMATCH 'RuntimeError: Error(s) in loading state_dict for ResNet18:
	Missing key(s) in state_dict: "conv1.weight", "bn1.weight".
	Unexpected key(s) in state_dict: "module.conv1.weight", "module.bn1.weight".'
expect_first TS-SAM-CHECKPOINT 'RuntimeError: Error(s) in loading state_dict for Sam:
	size mismatch for image_encoder.pos_embed: copying a param with shape torch.Size([1, 64, 64, 768]) from checkpoint, the shape in current model is torch.Size([1, 64, 64, 1280]).'
expect_first TS-DEVICE-ASSERT-LABELS 'RuntimeError: CUDA error: device-side assert triggered
CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
For debugging consider passing CUDA_LAUNCH_BLOCKING=1'
expect_first TS-MISSING-PKG "ModuleNotFoundError: No module named 'ultralytics'"
# 2.2.3: tracking without lap, and YOLO finding nothing, as ultralytics prints them
expect_first TS-MISSING-PKG "ModuleNotFoundError: No module named 'lap'"
expect_first TS-MISSING-PKG '  File "/usr/local/lib/python3.10/dist-packages/ultralytics/trackers/byte_tracker.py", line 10, in <module>
    import lap
ModuleNotFoundError: No module named '"'lap'"
expect_first TS-MISSING-PKG "requirements: Ultralytics requirement ['lap>=0.5.12'] not found, attempting AutoUpdate..."
expect_first TS-YOLO-NO-DETECTIONS 'image 1/1 /workspace/bus.jpg: 640x480 (no detections), 48.2ms'
expect_first TS-YOLO-NO-DETECTIONS "data: tensor([], device='cuda:0', size=(0, 6))"
expect_first TS-YOLO-NO-DETECTIONS 'AssertionError: len(results[0].boxes) == 0'
expect_first TS-REEVAL-HELDOUT-GAP "reeval.heldout: on 300 test-split mosaics of the grader's drawing (seed 690782357) the weights score mAP50 0.3100, 0.2700 below the submission's (recomputed) 0.5800 on eval_set (at most 0.12): they fit the public evaluation mosaics, not the task"
expect_first TS-IPC-HOST "RuntimeError: DataLoader worker (pid 4120) is killed by signal: Bus error. It is possible that dataloader's workers are out of shared memory."
expect_first TS-CONVERT-DEVICE 'RuntimeError: Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) should be the same'
expect_first TS-RAW-PIXELS 'RuntimeError: Input type (torch.cuda.ByteTensor) and weight type (torch.cuda.FloatTensor) should be the same'
expect_first TS-WIDTH-HEIGHT-SWAP "RuntimeError: input and target batch or spatial sizes don't match: target [8, 480, 640], input [8, 21, 640, 480]"
expect_first TS-UNET-SHAPE "RuntimeError: input and target batch or spatial sizes don't match: target [8, 256, 256], input [8, 21, 240, 240]"
echo ok
