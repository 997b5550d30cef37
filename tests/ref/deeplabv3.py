"""torchvision 0.14's deeplabv3_resnet50 as lab 2.2.4's challenge builds it (lab [26]:
COCO_WITH_VOC_LABELS_V1 forces num_classes 21 and aux_loss, then classifier[-1] =
Conv2d(256, 21, 1); here weights=None with those two set, so no download), the parity
data tests/unit/test_deeplabv3.c checks labs/models/deeplabv3.c against. Unlike
tests/ref/unet.py this is torchvision itself, not a re-statement.

  deeplabv3.py OUTDIR          course.keys.txt, course.safetensors (random weights, BN
                               statistics included), course.x (1x3x41x299: odd, so every
                               resize rounds, and wide, so layer4's 6x38 map reaches the
                               ASPP's 3x3 taps at dilation 36 too), course.out / course.aux
                               (eval; torchvision's dict, each upsampled to 41x299)
  deeplabv3.py check WEIGHTS X OUT   loads lab's WEIGHTS strictly, writes OUT and OUT.aux
"""
import os
import sys

import torch
import torch.nn as nn
from torchvision.models.segmentation import deeplabv3_resnet50

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shim_ref import save  # noqa: E402
from unet import check_contract_rows, load_weights, load_x, randomize, write_case  # noqa: E402

torch.set_num_threads(2)


def build():
    model = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
    model.classifier[4] = nn.Conv2d(256, 21, 1)
    return model


def outputs(d, name, model, x):
    model.eval()
    with torch.no_grad():
        y = model(x)
    save(d, name, y["out"])
    save(d, name + ".aux", y["aux"])


def generate(d):
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(3)
    g = torch.Generator().manual_seed(2240)
    model = build()
    check_contract_rows("deeplabv3_resnet50", model, "2.2.4-deeplabv3-resnet50.tsv", 42004074)
    randomize(model, g)
    write_case(d, "course", model)
    x = torch.randn(1, 3, 41, 299, generator=g)
    save(d, "course.x", x)
    outputs(d, "course.out", model, x)


def check(weights, x_path, out):
    model = build()
    model.load_state_dict(load_weights(weights), strict=True)
    outputs(os.path.dirname(out) or ".", os.path.basename(out), model, load_x(x_path))


if __name__ == "__main__":
    if len(sys.argv) == 2:
        generate(sys.argv[1])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: deeplabv3.py OUTDIR | deeplabv3.py check WEIGHTS X OUT")
