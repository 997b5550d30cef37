/* Loaders for the course's data formats. Each returns a ds_dataset (see
 * dataset.h); every length and count read from a file is checked against the
 * bytes actually there before it is used. */
#ifndef DS_LOADERS_H
#define DS_LOADERS_H

#include "datasets/dataset.h"

#include <stddef.h>
#include <stdint.h>

/* An IDX array (unsigned bytes only, as MNIST-style data uses), read from a
 * plain or gzip file (zlib detects which). */
struct ds_idx {
    int ndim;
    uint32_t dims[4];
    uint8_t *data; /* owned; product(dims) bytes */
    size_t size;
};
int ds_idx_load(const char *path, struct ds_idx *out);
void ds_idx_free(struct ds_idx *idx);

/* Fashion-MNIST from `dir` holding the four *-ubyte.gz files; `dir` NULL finds
 * it through the manifest (Debian's /usr/share/datasets/fashion-mnist, then
 * the lab cache). 28x28x1 images, 10 classes. */
int ds_fashion_mnist_open(const char *dir, int train, struct ds_dataset **out);
extern const char *const ds_fashion_mnist_classes[10];

/* CIFAR binary version: CIFAR-10 records are <1 label byte><3072 pixel bytes>
 * (data_batch_1..5.bin / test_batch.bin); CIFAR-100 records are <coarse><fine>
 * <3072> (train.bin / test.bin), and the fine label is used. `dir` is the
 * extracted directory (cifar-10-batches-bin or cifar-100-binary); NULL finds
 * it in the cache. 32x32x3 images. */
int ds_cifar_open(const char *dir, int cifar100, int train, struct ds_dataset **out);

/* Decodes a JPEG or PNG file (sniffed from its first bytes) to 8-bit gray or
 * RGB. For JPEG the EXIF Orientation tag (1..8) is applied, so pixels come out
 * the way a viewer shows them; PNG's eXIf chunk is applied as well. Palette
 * PNGs are expanded to RGB unless `keep_index` is set (then the palette
 * indices are returned as a 1-channel image: the VOC mask case). */
int ds_image_load(const char *path, int keep_index, struct ds_image *out);
/* The EXIF orientation in a JPEG's APP1 segment; 1 when absent or malformed. */
int ds_jpeg_exif_orientation(const uint8_t *data, size_t len);
/* Turns an image displayed with EXIF orientation `o` into upright pixels. */
int ds_image_apply_orientation(struct ds_image *im, int orientation);

/* Pascal VOC 2012 segmentation: JPEGImages/<id>.jpg and
 * SegmentationClass/<id>.png (palette indices 0..20, 255 = border/ignore,
 * kept as 255), ids from ImageSets/Segmentation/{train,val}.txt. `root` is
 * the VOC2012 directory; NULL finds it in the cache. */
int ds_voc_open(const char *root, int train, struct ds_dataset **out);
/* VOC's 21 class names in id order, background first. */
extern const char *const ds_voc_classes[21];
/* The course's VOC transform (2.2.4 lab [8]): the image to size x size
 * bilinear (aspect ratio not kept), the mask to the same size nearest with
 * PIL's source index floor((i + 0.5) * in / out), so 255 stays 255 and no
 * id is blended. */
int ds_voc_resize(struct ds_sample *s, int size);

#endif
