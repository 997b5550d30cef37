/* A set of Fashion-MNIST mosaics, by the name a quick run of lab 2.2.3
 * writes into its predictions' eval_set, as one split of a YOLO-layout
 * dataset: the same canvases and boxes the lab evaluates on, for `lab
 * val`, `--set data.dataset=PATH` or Ultralytics' own `yolo val`. */
#ifndef DS_MOSAIC_EXPORT_H
#define DS_MOSAIC_EXPORT_H

/* Writes the canvases of `set` ("fashion-mnist-mosaic:test:size=96:n=300:
 * seed=43") under dir/images/<split>, their labels under dir/labels/<split>,
 * and dir/data.yaml (train and val splits, the ten Fashion-MNIST names).
 * data_dir: where Fashion-MNIST is (NULL: the usual places). */
int ds_mosaic_export_yolo(const char *set, const char *data_dir, const char *dir, const char *split);

#endif
