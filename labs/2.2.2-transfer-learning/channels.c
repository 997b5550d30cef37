#include "labs/2.2.2-transfer-learning/channels.h"

#include "base/error.h"

int transfer_match_channels(int data_channels, int model_channels, struct ds_augment *train, struct ds_augment *eval)
{
    if (data_channels == model_channels || (train->to_rgb && eval->to_rgb && model_channels == 3))
        return 0;
    if (data_channels == 1 && model_channels == 3) {
        train->to_rgb = eval->to_rgb = 1;
        return 1;
    }
    return lab_err(LAB_EUSAGE, "use a checkpoint made for the dataset's channels (timm's efficientnet_b0 takes RGB)",
                   "the dataset has %d channel(s), the pretrained checkpoint takes %d", data_channels, model_channels);
}
