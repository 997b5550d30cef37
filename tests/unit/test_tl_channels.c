/* Lab 2.2.2 with a greyscale dataset (Fashion-MNIST standing in for
 * CIFAR-100 in full mode) and timm's RGB checkpoint: both transforms repeat
 * the grey channel (labs/2.2.2-transfer-learning/channels.c). Before this,
 * such a run loaded the checkpoint and failed on the first batch with a
 * shape error; tests/e2e/lab222_full.sh runs it end to end. */
#include "base/error.h"
#include "labs/2.2.2-transfer-learning/channels.h"

#include <check.h>
#include <string.h>

START_TEST(test_grey_data_rgb_checkpoint)
{
    struct ds_augment tr, ev;
    memset(&tr, 0, sizeof tr);
    memset(&ev, 0, sizeof ev);
    ck_assert_int_eq(transfer_match_channels(1, 3, &tr, &ev), 1);
    ck_assert_int_eq(tr.to_rgb, 1);
    ck_assert_int_eq(ev.to_rgb, 1);
    /* already converted (the quick mode's data.to_rgb): nothing to say */
    ck_assert_int_eq(transfer_match_channels(1, 3, &tr, &ev), 0);
}
END_TEST

START_TEST(test_same_channels_and_refusal)
{
    struct ds_augment tr, ev;
    memset(&tr, 0, sizeof tr);
    memset(&ev, 0, sizeof ev);
    ck_assert_int_eq(transfer_match_channels(3, 3, &tr, &ev), 0);
    ck_assert_int_eq(tr.to_rgb + ev.to_rgb, 0);
    ck_assert_int_eq(transfer_match_channels(1, 1, &tr, &ev), 0);
    ck_assert_int_eq(tr.to_rgb + ev.to_rgb, 0);
    /* colour into a 1-channel checkpoint: lab does not make grey images */
    ck_assert_int_eq(transfer_match_channels(3, 1, &tr, &ev), LAB_EUSAGE);
    ck_assert_msg(strstr(lab_err_message(), "3 channel(s), the pretrained checkpoint takes 1"), "%s", lab_err_message());
    lab_err_clear();
}
END_TEST

Suite *suite_tl_channels(void)
{
    Suite *s = suite_create("tl_channels");
    TCase *tc = tcase_create("channels");
    tcase_add_test(tc, test_grey_data_rgb_checkpoint);
    tcase_add_test(tc, test_same_channels_and_refusal);
    suite_add_tcase(s, tc);
    return s;
}
