/* Distillation (lab 2.2.5's DeiT, labs/train.c with a teacher, labs/teacher.c):
 * a training batch's loss is the solution's DistillationLoss of the
 * student's CLS and distillation heads against the teacher's logits, the
 * teacher gets no gradient and does not change; a teacher loads from a run
 * directory only when it saw the student's inputs; a student without a
 * distillation head is refused. */
#include "base/error.h"
#include "base/fsutil.h"
#include "labs/2.2.1-cnn-architectures/cnn_models.h"
#include "labs/models/vit.h"
#include "labs/models/weights.h"
#include "labs/teacher.h"
#include "labs/train.h"
#include "tests/unit/testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 4, PER = 3 * 32 * 32 };

/* bit for bit */
static int same(const ts_tensor *a, const ts_tensor *b)
{
    size_t n = (size_t)ts_numel(a);
    if ((size_t)ts_numel(b) != n)
        return 0;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    ck_assert_int_eq(ts_to_host(a, TS_F32, x, n * sizeof *x), TS_OK);
    ck_assert_int_eq(ts_to_host(b, TS_F32, y, n * sizeof *y), TS_OK);
    int eq = memcmp(x, y, n * sizeof *x) == 0;
    free(x), free(y);
    return eq;
}

static struct model *small_vit(int variant)
{
    struct vit_config c;
    vit_config_course(&c);
    c.patch_size = 8, c.embed_dim = 32, c.depth = 1, c.num_heads = 2, c.mlp_ratio = 2, c.dropout = 0;
    struct model *m;
    ck_assert_msg(vit_new(&c, variant, &m) == 0, "%s", lab_err_message());
    return m;
}

static void batch_of(struct ds_batch *b, float *images, int64_t *labels)
{
    struct ds_rng r;
    ds_rng_seed(&r, 4, 5, 6);
    for (int i = 0; i < N * PER; i++)
        images[i] = (float)ds_rng_range(&r, -1, 1);
    for (int i = 0; i < N; i++)
        labels[i] = i * 3 % 10;
    *b = (struct ds_batch){.n = N, .c = 3, .h = 32, .w = 32, .images = images, .labels = labels};
}

static struct train_config sgd_config(struct model *teacher)
{
    struct train_config tc = {.epochs = 1, .batch_size = N, .lr = 0.1, .device = TS_CPU, .accumulate = 1,
                              .unfreeze_epoch = -1, .teacher = teacher, .distill_temperature = 3.0,
                              .distill_alpha = 0.3};
    snprintf(tc.optimizer, sizeof tc.optimizer, "sgd");
    snprintf(tc.schedule, sizeof tc.schedule, "none");
    return tc;
}

static ts_tensor *output(struct model *m, float *images, int training, const char *name)
{
    ts_tensor *x;
    ck_assert_int_eq(ts_from_blob(&x, images, TS_F32, 4, (int64_t[]){N, 3, 32, 32}), TS_OK);
    struct model_tensors in = {0}, out;
    ck_assert_int_eq(model_tensors_add(&in, "pixel_values", x), LAB_OK);
    ck_assert_int_eq(model_run(m, &in, training, &out), LAB_OK);
    ts_tensor *t = model_tensors_get(&out, name);
    ck_assert_msg(t != NULL, "%s gave no %s", m->name, name);
    return t;
}

START_TEST(test_batch_loss_is_the_distillation_loss)
{
    ck_assert_int_eq(ts_manual_seed(5), TS_OK);
    struct model *student = small_vit(VIT_DEIT), *teacher;
    ck_assert_int_eq(lenet5_create(10, 0, &teacher), LAB_OK);
    float *images = malloc(N * PER * sizeof *images);
    int64_t labels[N];
    struct ds_batch b;
    batch_of(&b, images, labels);
    double want;
    /* by hand, before the step changes the student */
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ts_tensor *y, *loss;
    ck_assert_int_eq(ts_from_blob(&y, labels, TS_I64, 1, (int64_t[]){N}), TS_OK);
    int grad = ts_no_grad_push();
    ts_tensor *tl = output(teacher, images, 0, "logits");
    ck_assert_int_eq(vit_distillation_loss(output(student, images, 1, "cls_logits"),
                                           output(student, images, 1, "dist_logits"), tl, y, 3.0, 0.3, &loss),
                     LAB_OK);
    ck_assert_int_eq(ts_item_f64(loss, &want), TS_OK);
    ts_grad_mode_pop(grad);
    ts_scope_end();

    ts_tensor *w = ts_params_get(teacher->params, "fc3.weight"), *before;
    ck_assert_int_eq(ts_clone(&before, w), TS_OK);
    struct train_config tc = sgd_config(teacher);
    ts_optim *opt;
    ck_assert_int_eq(train_optimizer(student, &tc, &opt), LAB_OK);
    double loss_sum = 0;
    int64_t correct = 0;
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ck_assert_msg(train_batch(student, opt, &b, &tc, 1, 1, &loss_sum, &correct) == LAB_OK, "%s", lab_err_message());
    ts_scope_end();
    ck_assert_msg(fabs(loss_sum / N - want) <= 1e-5 * fabs(want), "train_batch %.7f, by hand %.7f", loss_sum / N, want);
    /* the teacher: no gradient, unchanged */
    ts_tensor *g = NULL;
    ck_assert_int_eq(ts_grad(&g, w), TS_OK);
    ck_assert_ptr_null(g);
    ck_assert(same(w, before));
    ts_tensor_free(before);
    ts_optim_free(opt);

    /* a student without a distillation head is refused, naming deit */
    struct model *vit = small_vit(VIT_COURSE);
    ck_assert_int_eq(train_optimizer(vit, &tc, &opt), LAB_OK);
    batch_of(&b, images, labels);
    ck_assert_int_eq(ts_scope_begin(), TS_OK);
    ck_assert_int_eq(train_batch(vit, opt, &b, &tc, 1, 1, &loss_sum, &correct), LAB_EUSAGE);
    ts_scope_end();
    ck_assert_ptr_nonnull(strstr(lab_err_fix(), "deit"));
    ts_optim_free(opt);
    model_free(vit);
    free(images);
    model_free(student);
    model_free(teacher);
}
END_TEST

START_TEST(test_teacher_loads_from_a_run_on_the_same_inputs)
{
    char *dir = tu_tempdir(), path[4300];
    const char *data = "{\"dataset\": \"fashion-mnist\", \"input_size\": [3, 32, 32], \"pad\": 2, \"to_rgb\": true, "
                       "\"normalize\": {\"mean\": [0.286, 0.286, 0.286], \"std\": [0.353, 0.353, 0.353]}}";
    char text[1024];
    snprintf(text, sizeof text, "{\"lab\": \"2.2.1\", \"model\": \"all\", \"data\": %s}", data);
    snprintf(path, sizeof path, "%s/config.json", dir);
    tu_write_file(path, text, strlen(text));
    struct model *lenet;
    ck_assert_int_eq(ts_manual_seed(9), TS_OK);
    ck_assert_int_eq(lenet5_create(10, 0, &lenet), LAB_OK);
    snprintf(path, sizeof path, "%s/models/lenet5", dir);
    ck_assert_int_eq(lab_mkdir_p(path), 0);
    snprintf(path, sizeof path, "%s/models/lenet5/model.safetensors", dir);
    ck_assert_int_eq(weights_save(lenet->params, path, NULL, NULL, 0), LAB_OK);

    json_error_t e;
    snprintf(text, sizeof text, "{\"data\": %s}", data);
    json_t *student = json_loads(text, 0, &e);
    struct model *t = NULL;
    char desc[4400];
    ck_assert_msg(lab_teacher_load(dir, "lenet5", student, TS_CPU, &t, desc, sizeof desc) == LAB_OK, "%s",
                  lab_err_message());
    ck_assert(same(ts_params_get(t->params, "fc3.weight"), ts_params_get(lenet->params, "fc3.weight")));
    ck_assert_ptr_nonnull(strstr(desc, "2.2.1 lenet5"));
    model_free(t);
    /* a model the run does not hold */
    ck_assert_int_ne(lab_teacher_load(dir, "resnet18", student, TS_CPU, &t, desc, sizeof desc), LAB_OK);
    ck_assert_ptr_null(t);
    /* other preprocessing than the student's */
    json_object_set_new(json_object_get(student, "data"), "pad", json_integer(0));
    ck_assert_int_eq(lab_teacher_load(dir, "lenet5", student, TS_CPU, &t, desc, sizeof desc), LAB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(lab_err_message(), "data.pad"));
    /* not a run */
    ck_assert_int_eq(lab_teacher_load("/nonexistent", "lenet5", student, TS_CPU, &t, desc, sizeof desc), LAB_EUSAGE);
    json_decref(student);
    model_free(lenet);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_distill(void)
{
    Suite *s = suite_create("distill");
    TCase *tc = tcase_create("distill");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_batch_loss_is_the_distillation_loss);
    tcase_add_test(tc, test_teacher_loads_from_a_run_on_the_same_inputs);
    suite_add_tcase(s, tc);
    return s;
}
