#include "labs/tasks/task.h"

#include "labs/tasks/classify.h"
#include "labs/tasks/detect.h"

#include <string.h>

static const struct task_format formats[] = {
    {"classify", CLASSIFY_PREDICTIONS_FORMAT,
     {{"logits", "F32", "[N, K]", "raw class scores (before softmax) of each eval image"},
      {"labels", "I64", "[N]", "the true class of each image"},
      {"indices", "I64", "[N]", "the position of each image in the eval split"}},
     3},
    {"detect", DETECT_PREDICTIONS_FORMAT,
     {{"boxes", "F32", "[M, 4]", "x1, y1, x2, y2 in pixels of the input image (x2, y2 exclusive)"},
      {"scores", "F32", "[M]", "confidence of each detection"},
      {"classes", "I64", "[M]", "class id of each detection"},
      {"image_index", "I64", "[M]", "which image (row of indices) each detection belongs to"},
      {"indices", "I64", "[N]", "the position of each image in the eval split"},
      {"image_sizes", "I64", "[N, 2]", "height, width in pixels of each image (the boxes' frame)"}},
     6},
    {"segment", "lab-masks-v1",
     {{"masks", "U8", "[N, H, W]", "predicted class of each pixel (argmax over classes)"},
      {"indices", "I64", "[N]", "the position of each image in the eval split"}},
     2},
    {"prompt", "lab-prompt-masks-v1",
     {{"masks", "U8", "[P, H, W]", "0/1 mask predicted for each prompt"},
      {"iou_predictions", "F32", "[P]", "the model's own IoU estimate for each mask"},
      {"prompts", "F32", "[P, 4]", "the prompt: a box x1, y1, x2, y2, or a point x, y, label, 0"},
      {"image_index", "I64", "[P]", "which image each prompt is on"},
      {"indices", "I64", "[N]", "the position of each image in the eval split"}},
     5},
};

const struct task_format *task_format_find(const char *task)
{
    for (size_t i = 0; task && i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].task, task) == 0)
            return &formats[i];
    return NULL;
}

const struct task_format *task_format_at(size_t i)
{
    return i < sizeof formats / sizeof formats[0] ? &formats[i] : NULL;
}
