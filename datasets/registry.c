#include "datasets/registry.h"

#include "base/error.h"
#include "datasets/loaders.h"
#include "datasets/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const cifar10_classes[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};
/* fine_label_names.txt of cifar-100-binary, in label order */
static const char *const cifar100_classes[100] = {
    "apple",      "aquarium_fish", "baby",     "bear",       "beaver",       "bed",       "bee",        "beetle",
    "bicycle",    "bottle",        "bowl",     "boy",        "bridge",       "bus",       "butterfly",  "camel",
    "can",        "castle",        "caterpillar", "cattle",  "chair",        "chimpanzee", "clock",     "cloud",
    "cockroach",  "couch",         "crab",     "crocodile",  "cup",          "dinosaur",  "dolphin",    "elephant",
    "flatfish",   "forest",        "fox",      "girl",       "hamster",      "house",     "kangaroo",   "keyboard",
    "lamp",       "lawn_mower",    "leopard",  "lion",       "lizard",       "lobster",   "man",        "maple_tree",
    "motorcycle", "mountain",      "mouse",    "mushroom",   "oak_tree",     "orange",    "orchid",     "otter",
    "palm_tree",  "pear",          "pickup_truck", "pine_tree", "plain",     "plate",     "poppy",      "porcupine",
    "possum",     "rabbit",        "raccoon",  "ray",        "road",         "rocket",    "rose",       "sea",
    "seal",       "shark",         "shrew",    "skunk",      "skyscraper",   "snail",     "snake",      "spider",
    "squirrel",   "streetcar",     "sunflower", "sweet_pepper", "table",     "tank",      "telephone",  "television",
    "tiger",      "tractor",       "train",    "trout",      "tulip",        "turtle",    "wardrobe",   "whale",
    "willow_tree", "wolf",         "woman",    "worm"};

static int default_dir(const char *name, const char *dir, char *buf, size_t cap, const char **out)
{
    if (dir) {
        *out = dir;
        return LAB_OK;
    }
    int rc = ds_data_dir(name, buf, cap);
    *out = buf;
    return rc;
}

static int fashion_eval_labels(const char *dir, int64_t **labels, size_t *n)
{
    char found[4096], path[4200];
    int rc = default_dir("fashion-mnist", dir, found, sizeof found, &dir);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
    struct ds_idx idx;
    if (ds_idx_load(path, &idx))
        return lab_err_context(LAB_EENV, "the eval labels");
    if (idx.ndim != 1 || idx.size == 0) {
        ds_idx_free(&idx);
        return lab_err(LAB_EENV, "fetch it again: lab fetch fashion-mnist", "%s is not a label file", path);
    }
    int64_t *v = malloc(idx.size * sizeof *v);
    if (!v) {
        ds_idx_free(&idx);
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < idx.size; i++)
        v[i] = idx.data[i];
    *labels = v;
    *n = idx.size;
    ds_idx_free(&idx);
    return LAB_OK;
}

/* CIFAR records are <label bytes><3072 pixel bytes> (CIFAR-10: the label;
 * CIFAR-100: coarse, then fine): read the class label bytes only. */
static int cifar_eval_labels(const char *name, const char *file, int cifar100, const char *dir, int64_t **labels,
                             size_t *n)
{
    const size_t label_bytes = cifar100 ? 2 : 1, rec = label_bytes + 3072;
    const int classes = cifar100 ? 100 : 10;
    char found[4096], path[4200], fix[96];
    int rc = default_dir(name, dir, found, sizeof found, &dir);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(fix, sizeof fix, "fetch it again: lab fetch %s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        snprintf(fix, sizeof fix, "fetch it: lab fetch %s (or give --data DIR)", name);
        return lab_err(LAB_EENV, fix, "cannot read %s: %s", path, strerror(errno));
    }
    if (st.st_size <= 0 || (size_t)st.st_size % rec) {
        close(fd);
        return lab_err(LAB_EENV, fix, "%s is not a whole number of %s records", path, name);
    }
    size_t count = (size_t)st.st_size / rec;
    int64_t *v = malloc(count * sizeof *v);
    rc = v ? LAB_OK : lab_err(LAB_EINTERNAL, NULL, "out of memory");
    for (size_t i = 0; !rc && i < count; i++) {
        unsigned char b;
        if (pread(fd, &b, 1, (off_t)(i * rec + label_bytes - 1)) != 1 || b >= classes)
            rc = lab_err(LAB_EENV, fix, "%s: record %zu has no label in 0..%d", path, i, classes - 1);
        else
            v[i] = b;
    }
    close(fd);
    if (rc) {
        free(v);
        return rc;
    }
    *labels = v;
    *n = count;
    return LAB_OK;
}

static int cifar10_eval_labels(const char *dir, int64_t **labels, size_t *n)
{
    return cifar_eval_labels("cifar-10", "test_batch.bin", 0, dir, labels, n);
}

static int cifar100_eval_labels(const char *dir, int64_t **labels, size_t *n)
{
    return cifar_eval_labels("cifar-100", "test.bin", 1, dir, labels, n);
}

static int cifar10_open(const char *dir, int train, struct ds_dataset **out) { return ds_cifar_open(dir, 0, train, out); }
static int cifar100_open(const char *dir, int train, struct ds_dataset **out) { return ds_cifar_open(dir, 1, train, out); }

static const struct ds_info infos[] = {
    {.name = "fashion-mnist", .num_classes = 10, .class_names = ds_fashion_mnist_classes, .train_size = 60000,
     .eval_size = 10000, .height = 28, .width = 28, .channels = 1, .mean = {0.2860, 0.2860, 0.2860},
     .std = {0.3530, 0.3530, 0.3530}, .pad = 2, .to_rgb = 1, .open = ds_fashion_mnist_open,
     .eval_labels = fashion_eval_labels},
    {.name = "cifar-10", .num_classes = 10, .class_names = cifar10_classes, .train_size = 50000, .eval_size = 10000,
     .height = 32, .width = 32, .channels = 3, .mean = {0.4914, 0.4822, 0.4465}, .std = {0.2023, 0.1994, 0.2010},
     .alt_std = {0.2470, 0.2435, 0.2616}, .open = cifar10_open, .eval_labels = cifar10_eval_labels},
    /* the train split's statistics as commonly quoted (two roundings of the std) */
    {.name = "cifar-100", .num_classes = 100, .class_names = cifar100_classes, .train_size = 50000,
     .eval_size = 10000, .height = 32, .width = 32, .channels = 3, .mean = {0.5071, 0.4865, 0.4409},
     .std = {0.2673, 0.2564, 0.2762}, .alt_std = {0.2675, 0.2565, 0.2761}, .open = cifar100_open,
     .eval_labels = cifar100_eval_labels},
};

const struct ds_info *ds_info_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof infos / sizeof infos[0]; i++)
        if (strcmp(infos[i].name, name) == 0)
            return &infos[i];
    return NULL;
}

int ds_info_get(const char *name, const char *who, const struct ds_info **out)
{
    *out = ds_info_find(name);
    if (*out)
        return LAB_OK;
    char fix[256] = "set data.dataset to ";
    size_t len = strlen(fix);
    for (size_t i = 0; i < sizeof infos / sizeof infos[0] && len < sizeof fix; i++)
        len += (size_t)snprintf(fix + len, sizeof fix - len, "%s%s", i ? " or " : "", infos[i].name);
    return lab_err(LAB_EUSAGE, fix, "%s has no dataset '%s'", who, name ? name : "(none)");
}

int ds_info_open(const struct ds_info *d, const char *dir, int train, struct ds_dataset **out)
{
    return d->open(dir, train, out);
}

int ds_eval_augment(const json_t *data, struct ds_augment *a)
{
    int rc = ds_augment_from_json(data, a);
    if (rc)
        return rc;
    a->crop_size = a->crop_padding = 0;
    a->hflip_p = 0;
    a->rrc_size = 0;
    a->randaug_n = 0;
    memset(a->jitter, 0, sizeof a->jitter);
    a->erase_p = 0;
    return LAB_OK;
}
