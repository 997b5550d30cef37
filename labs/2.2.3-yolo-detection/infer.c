#include "labs/2.2.3-yolo-detection/infer.h"

#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STRIDE 32

int yolo_letterbox_plan(int w, int h, int imgsz, int rect, struct yolo_letterbox *lb)
{
    if (w < 1 || h < 1 || w > 65535 || h > 65535)
        return lab_err(LAB_EUSAGE, "give an image between 1 and 65535 pixels a side", "an image of %dx%d", w, h);
    if (imgsz < STRIDE || imgsz % STRIDE)
        return lab_err(LAB_EUSAGE, "use --imgsz 320, 640, 1280 or another multiple of 32",
                       "--imgsz %d is not a positive multiple of 32", imgsz);
    double r = fmin((double)imgsz / h, (double)imgsz / w);
    /* Python's round() is round-half-even, as rint() is by default. */
    int nw = (int)rint(w * r), nh = (int)rint(h * r);
    if (nw < 1)
        nw = 1;
    if (nh < 1)
        nh = 1;
    int dw = imgsz - nw, dh = imgsz - nh;
    if (rect) {
        dw %= STRIDE;
        dh %= STRIDE;
    }
    double hw = dw / 2.0, hh = dh / 2.0;
    int left = (int)rint(hw - 0.1), right = (int)rint(hw + 0.1);
    int top = (int)rint(hh - 0.1), bottom = (int)rint(hh + 0.1);
    *lb = (struct yolo_letterbox){.src_w = w, .src_h = h, .new_w = nw, .new_h = nh, .left = left, .top = top,
                                  .out_w = nw + left + right, .out_h = nh + top + bottom};
    return LAB_OK;
}

int yolo_letterbox_apply(const uint8_t *px, int c, const struct yolo_letterbox *lb, float *chw)
{
    if (c != 1 && c != 3)
        return lab_err(LAB_EUSAGE, "give an RGB or gray image", "an image with %d channels", c);
    size_t plane = (size_t)lb->out_w * lb->out_h;
    for (size_t i = 0; i < 3 * plane; i++)
        chw[i] = 114.0f / 255.0f;
    double sx = (double)lb->src_w / lb->new_w, sy = (double)lb->src_h / lb->new_h;
    for (int y = 0; y < lb->new_h; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        int y0 = (int)floor(fy);
        double wy = fy - y0;
        int ya = y0 < 0 ? 0 : y0 >= lb->src_h ? lb->src_h - 1 : y0;
        int yb = y0 + 1 < 0 ? 0 : y0 + 1 >= lb->src_h ? lb->src_h - 1 : y0 + 1;
        if (fy < 0)
            wy = 0;
        for (int x = 0; x < lb->new_w; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            int x0 = (int)floor(fx);
            double wx = fx - x0;
            int xa = x0 < 0 ? 0 : x0 >= lb->src_w ? lb->src_w - 1 : x0;
            int xb = x0 + 1 < 0 ? 0 : x0 + 1 >= lb->src_w ? lb->src_w - 1 : x0 + 1;
            if (fx < 0)
                wx = 0;
            for (int k = 0; k < 3; k++) {
                int ch = c == 3 ? k : 0;
                double p00 = px[((size_t)ya * lb->src_w + xa) * c + ch], p01 = px[((size_t)ya * lb->src_w + xb) * c + ch];
                double p10 = px[((size_t)yb * lb->src_w + xa) * c + ch], p11 = px[((size_t)yb * lb->src_w + xb) * c + ch];
                double v = (1 - wy) * ((1 - wx) * p00 + wx * p01) + wy * ((1 - wx) * p10 + wx * p11);
                /* cv2 returns uint8: the model sees the rounded pixel */
                double u8 = floor(v + 0.5);
                chw[k * plane + (size_t)(y + lb->top) * lb->out_w + (x + lb->left)] =
                    (float)((u8 > 255 ? 255 : u8) / 255.0);
            }
        }
    }
    return LAB_OK;
}

void yolo_scale_boxes(const struct yolo_letterbox *lb, struct yolo_det *d, int n)
{
    double gain = fmin((double)lb->out_h / lb->src_h, (double)lb->out_w / lb->src_w);
    double px = rint((lb->out_w - lb->src_w * gain) / 2 - 0.1), py = rint((lb->out_h - lb->src_h * gain) / 2 - 0.1);
    for (int i = 0; i < n; i++) {
        float *b[4] = {&d[i].x1, &d[i].y1, &d[i].x2, &d[i].y2};
        for (int k = 0; k < 4; k++) {
            double v = (*b[k] - (k % 2 ? py : px)) / gain, hi = k % 2 ? lb->src_h : lb->src_w;
            *b[k] = (float)(v < 0 ? 0 : v > hi ? hi : v);
        }
    }
}

void yolo_clip_pred(float *pred, int nc, int64_t a, const struct yolo_letterbox *lb)
{
    (void)nc;
    yolo_clip_rect(pred, a, (float)lb->left, (float)lb->top, (float)(lb->left + lb->new_w),
                   (float)(lb->top + lb->new_h));
}

const char *const yolo_coco_names[80] = {
    "person",        "bicycle",      "car",          "motorcycle",    "airplane",     "bus",
    "train",         "truck",        "boat",         "traffic light", "fire hydrant", "stop sign",
    "parking meter", "bench",        "bird",         "cat",           "dog",          "horse",
    "sheep",         "cow",          "elephant",     "bear",          "zebra",        "giraffe",
    "backpack",      "umbrella",     "handbag",      "tie",           "suitcase",     "frisbee",
    "skis",          "snowboard",    "sports ball",  "kite",          "baseball bat", "baseball glove",
    "skateboard",    "surfboard",    "tennis racket", "bottle",       "wine glass",   "cup",
    "fork",          "knife",        "spoon",        "bowl",          "banana",       "apple",
    "sandwich",      "orange",       "broccoli",     "carrot",        "hot dog",      "pizza",
    "donut",         "cake",         "chair",        "couch",         "potted plant", "bed",
    "dining table",  "toilet",       "tv",           "laptop",        "mouse",        "remote",
    "keyboard",      "cell phone",   "microwave",    "oven",          "toaster",      "sink",
    "refrigerator",  "book",         "clock",        "vase",          "scissors",     "teddy bear",
    "hair drier",    "toothbrush",
};
