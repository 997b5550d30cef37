#include "datasets/mosaic_export.h"

#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/mosaic_set.h"
#include "datasets/registry.h"
#include "datasets/yolo_write.h"

#include <string.h>

int ds_mosaic_export_yolo(const char *set, const char *data_dir, const char *dir, const char *split)
{
    if (strcmp(split, "train") && strcmp(split, "val"))
        return lab_err(LAB_EUSAGE, "use --split train or --split val", "no split '%s' in data.yaml", split);
    struct ds_mosaic_config cfg;
    int train;
    const struct ds_info *info = NULL;
    struct ds_dataset *items = NULL, *mosaics = NULL;
    int rc = ds_mosaic_set_parse(set, &train, &cfg);
    if (!rc)
        rc = ds_info_get("fashion-mnist", "the mosaics' class names", &info);
    if (!rc)
        rc = ds_fashion_mnist_open(data_dir, train, &items);
    if (!rc)
        rc = ds_mosaic_open(items, &cfg, &mosaics);
    if (!rc)
        rc = ds_yolo_write_split(mosaics, dir, split);
    if (!rc)
        rc = ds_yolo_write_yaml(dir, info->class_names, info->num_classes);
    ds_dataset_free(mosaics);
    ds_dataset_free(items);
    return rc;
}
