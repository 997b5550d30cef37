"""Reference for tests/unit/test_sam_loss.c: lab 2.2.6's quick-mode loss,
SAM's (the paper's section 3 and appendix A), in plain PyTorch.

Per mask: 20 x sigmoid focal loss (alpha 0.25, gamma 2, the mean over the
mask's pixels) + 1 x dice (1 - (2 sum p t + 1) / (sum p + sum t + 1)), the
logits first resized bilinearly (align_corners False) to the truth's size;
plus 1 x the MSE between the IoU head and the IoU of the thresholded mask.
Single output: the mean over the batch. Multimask: each row's mask part is
its best (lowest) mask's, the IoU part covers all three. Saved: the inputs,
both losses and their gradients with respect to the logits and the IoU
predictions.
Run: /usr/bin/python3 sam_quick_loss.py OUTDIR
"""
import torch
import torch.nn.functional as F

from shim_ref import out_dir, save

torch.set_num_threads(1)
D = out_dir()
torch.manual_seed(26)
B, K, h, H = 4, 3, 16, 64
low = (torch.randn(B, K, h, h) * 3).requires_grad_()
iou = torch.rand(B, K).requires_grad_()
truth = torch.zeros(B, 1, H, H)
for b in range(B):  # a rectangle each, of different sizes
    truth[b, 0, 8 + 4 * b:40 + 2 * b, 10:30 + 6 * b] = 1
save(D, "low", low)
save(D, "iou", iou)
save(D, "truth", truth)


def terms(x, t):
    x = F.interpolate(x, size=t.shape[-2:], mode="bilinear", align_corners=False)
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    pt = p * t + (1 - p) * (1 - t)
    fl = (ce * (1 - pt) ** 2 * (0.25 * t + 0.75 * (1 - t))).mean(dim=(1, 2, 3))
    dl = 1 - (2 * (p * t).sum(dim=(1, 2, 3)) + 1) / (p.sum(dim=(1, 2, 3)) + t.sum(dim=(1, 2, 3)) + 1)
    hard = (x.detach() > 0).float()
    inter = (hard * t).sum(dim=(1, 2, 3))
    union = (hard.sum(dim=(1, 2, 3)) + t.sum(dim=(1, 2, 3)) - inter).clamp(min=1)
    return 20 * fl + dl, inter / union


mask, tiou = terms(low[:, :1], truth)
single = mask.mean() + F.mse_loss(iou[:, 0], tiou)
gl, gi = torch.autograd.grad(single, [low, iou])
save(D, "single", single)
save(D, "single.grad_low", gl)
save(D, "single.grad_iou", gi)

mask, tiou = terms(low.reshape(B * K, 1, h, h), truth.repeat_interleave(K, dim=0))
multi = mask.reshape(B, K).min(dim=1).values.mean() + F.mse_loss(iou.reshape(-1), tiou)
gl, gi = torch.autograd.grad(multi, [low, iou])
save(D, "multi", multi)
save(D, "multi.grad_low", gl)
save(D, "multi.grad_iou", gi)
