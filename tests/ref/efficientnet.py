"""EfficientNet-B0 in plain PyTorch, laid out as timm names `efficientnet_b0`
(there is no timm on this machine): the module tree gives the state-dict keys
and shapes of ../shared/reference/2.2.2-efficientnet_b0.tsv, so the weights
lab saves load into it. With course_head=True the classifier is the course's
Sequential(Dropout(p), Linear(1280, K)) (keys classifier.1.*), otherwise
timm's Linear(1280, K) (keys classifier.*).

Written from the architecture as labs/models/efficientnet.c states it: a
DepthwiseSeparableConv, then InvertedResiduals with expansion 6, each with a
squeeze-excitation whose width is a quarter of the block's input width; BN
eps 1e-5, momentum 0.1; SiLU; "same"-style symmetric padding (k - 1) / 2.
"""
import torch
from torch import nn

# (repeats, kernel, first stride, expansion, output channels) per stage:
# timm's ds_r1_k3_s1_e1_c16_se0.25, then ir_r{2,2,3,3,4,1}_k{3,5,3,5,5,3}_s{2,2,2,1,2,1}_e6.
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
FEATURES = 1280


def conv(cin, cout, k, stride=1, groups=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride, padding=(k - 1) // 2, groups=groups, bias=bias)


class BatchNormAct2d(nn.BatchNorm2d):
    """BatchNorm then an optional SiLU, one module (its keys are bn1.weight, ...)."""

    def __init__(self, ch, act=True):
        super().__init__(ch, eps=1e-5, momentum=0.1)
        self.act = nn.SiLU(inplace=True) if act else nn.Identity()

    def forward(self, x):
        return self.act(super().forward(x))


class SqueezeExcite(nn.Module):
    def __init__(self, ch, rd):
        super().__init__()
        self.conv_reduce = nn.Conv2d(ch, rd, 1, bias=True)
        self.act1 = nn.SiLU(inplace=True)
        self.conv_expand = nn.Conv2d(rd, ch, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.conv_expand(self.act1(self.conv_reduce(s))).sigmoid()


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.has_skip = stride == 1 and cin == cout
        self.conv_dw = conv(cin, cin, k, stride, groups=cin)
        self.bn1 = BatchNormAct2d(cin)
        self.se = SqueezeExcite(cin, cin // 4)
        self.conv_pw = conv(cin, cout, 1)
        self.bn2 = BatchNormAct2d(cout, act=False)

    def forward(self, x):
        y = self.bn2(self.conv_pw(self.se(self.bn1(self.conv_dw(x)))))
        return y + x if self.has_skip else y


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid = cin * expand
        self.has_skip = stride == 1 and cin == cout
        self.conv_pw = conv(cin, mid, 1)
        self.bn1 = BatchNormAct2d(mid)
        self.conv_dw = conv(mid, mid, k, stride, groups=mid)
        self.bn2 = BatchNormAct2d(mid)
        self.se = SqueezeExcite(mid, cin // 4)
        self.conv_pwl = conv(mid, cout, 1)
        self.bn3 = BatchNormAct2d(cout, act=False)

    def forward(self, x):
        y = self.bn2(self.conv_dw(self.bn1(self.conv_pw(x))))
        y = self.bn3(self.conv_pwl(self.se(y)))
        return y + x if self.has_skip else y


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes=100, course_head=True, head_dropout=0.3):
        super().__init__()
        self.conv_stem = conv(3, 32, 3, 2)
        self.bn1 = BatchNormAct2d(32)
        stages, cin = [], 32
        for s, (repeats, k, stride, expand, cout) in enumerate(STAGES):
            blocks = []
            for i in range(repeats):
                st = stride if i == 0 else 1
                blocks.append(DepthwiseSeparableConv(cin, cout, k, st) if s == 0
                              else InvertedResidual(cin, cout, k, st, expand))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head = conv(cin, FEATURES, 1)
        self.bn2 = BatchNormAct2d(FEATURES)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        linear = nn.Linear(FEATURES, num_classes)
        self.classifier = nn.Sequential(nn.Dropout(head_dropout), linear) if course_head else linear
        # timm's goog init for convolutions: N(0, sqrt(2 / fan_out)), fan_out = k*k*cout/groups.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))
        return self.classifier(torch.flatten(self.global_pool(x), 1))
