"""Reference of Ultralytics' YOLOv8 post-processing and letterbox, written from
shared/reference/README.md ("Prediction defaults", "Preprocess") with torch and
torchvision only, for tests/unit/test_yolo_infer.c:

  yolov8_infer.py OUTDIR   writes
      nms.pred                 one image's decoded output [84, 600] with overlapping boxes
      nms.K.{boxes,conf,cls}   the kept detections for case K (CASES below), by confidence
      lb.plans                 [P, 8]: w, h, imgsz, rect, new_w, new_h, left, top (then out_w, out_h in
                               lb.out [P, 2]) for the sizes in PLANS
      lb.img, lb.input         a 150x200 RGB u8 image and its letterboxed input (imgsz 64, rect) / 255
      scale.in, scale.out      boxes in a 1280x720 image's 640x384 input and scale_boxes' result
"""
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shim_ref import out_dir, save  # noqa: E402

# conf, iou, max_det, classes
CASES = [(0.25, 0.7, 300, None), (0.1, 0.45, 300, None), (0.25, 0.7, 5, None), (0.25, 0.7, 300, [0, 2, 5])]
PLANS = [(640, 480, 640, 1), (1280, 720, 640, 1), (500, 375, 640, 1), (1280, 3, 640, 1), (777, 333, 640, 1),
         (1280, 720, 640, 0), (500, 375, 320, 0), (333, 777, 1280, 1), (1000, 1000, 640, 1)]


def nms(pred, conf_thres, iou_thres, max_det, classes):
    x = pred.T[pred[4:].amax(0) > conf_thres]
    box = torch.cat((x[:, :2] - x[:, 2:4] / 2, x[:, :2] + x[:, 2:4] / 2), 1)
    conf, j = x[:, 4:].max(1, keepdim=True)
    x = torch.cat((box, conf, j.float()), 1)[conf.view(-1) > conf_thres]
    if classes is not None:
        x = x[(x[:, 5:6] == torch.tensor(classes, dtype=torch.float)).any(1)]
    x = x[x[:, 4].argsort(descending=True)[:30000]]
    keep = torchvision.ops.nms(x[:, :4] + x[:, 5:6] * 7680, x[:, 4], iou_thres)[:max_det]
    return x[keep]


def plan(w, h, imgsz, rect):
    r = min(imgsz / h, imgsz / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = imgsz - nw, imgsz - nh
    if rect:
        dw, dh = dw % 32, dh % 32
    dw, dh = dw / 2, dh / 2
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return nw, nh, left, top, nw + left + right, nh + top + bottom


def main():
    d = out_dir()
    torch.manual_seed(5)
    a, nc = 600, 80
    centres = torch.rand(40, 2) * 600 + 20
    pick = torch.randint(0, 40, (a,))
    cxy = centres[pick] + torch.randn(a, 2) * 6
    wh = torch.rand(40, 2)[pick] * 150 + 60 + torch.randn(a, 2) * 4
    scores = torch.sigmoid(torch.randn(nc, a) * 0.5 - 4)
    hot = torch.randint(0, 8, (40,))[pick]
    scores[hot, torch.arange(a)] = torch.rand(a)
    pred = torch.cat((cxy.T, wh.T, scores), 0).contiguous()
    save(d, "nms.pred", pred)
    for k, (c, i, m, cl) in enumerate(CASES):
        x = nms(pred, c, i, m, cl)
        save(d, "nms.%d.boxes" % k, x[:, :4])
        save(d, "nms.%d.conf" % k, x[:, 4])
        save(d, "nms.%d.cls" % k, x[:, 5].long())
    rows, outs = [], []
    for w, h, s, rect in PLANS:
        nw, nh, left, top, ow, oh = plan(w, h, s, rect)
        rows.append([w, h, s, rect, nw, nh, left, top])
        outs.append([ow, oh])
    save(d, "lb.plans", torch.tensor(rows))
    save(d, "lb.out", torch.tensor(outs))
    torch.manual_seed(6)
    img = torch.randint(0, 256, (150, 200, 3), dtype=torch.uint8)
    nw, nh, left, top, ow, oh = plan(200, 150, 64, 1)
    small = F.interpolate(img.permute(2, 0, 1)[None].float(), size=(nh, nw), mode="bilinear",
                          align_corners=False)[0].round().clamp(0, 255)
    full = torch.full((3, oh, ow), 114.0)
    full[:, top:top + nh, left:left + nw] = small
    save(d, "lb.img", img)
    save(d, "lb.input", full / 255)
    # scale_boxes from a 640x384 input back to 1280x720
    boxes = torch.tensor([[10.0, 20.0, 200.0, 300.0], [-5.0, 0.0, 700.0, 390.0], [320.0, 12.0, 321.0, 13.0]])
    gain = min(384 / 720, 640 / 1280)
    pad_x, pad_y = round((640 - 1280 * gain) / 2 - 0.1), round((384 - 720 * gain) / 2 - 0.1)
    out = boxes.clone()
    out[:, [0, 2]] -= pad_x
    out[:, [1, 3]] -= pad_y
    out /= gain
    out[:, [0, 2]] = out[:, [0, 2]].clamp(0, 1280)
    out[:, [1, 3]] = out[:, [1, 3]].clamp(0, 720)
    save(d, "scale.in", boxes)
    save(d, "scale.out", out)


if __name__ == "__main__":
    main()
