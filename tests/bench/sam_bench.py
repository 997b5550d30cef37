"""The Python side of the SAM benchmark (scripts/bench/sam.sh): SamPredictor's
work restated in plain PyTorch from the reference facts
(../shared/reference/README.md, "2.2.6 Segment Anything as the library builds
it"; segment_anything is not imported): the image encoder (patch 16, absolute
position, windowed blocks with decomposed relative positions, the neck), the
prompt encoder (random Fourier features), the mask decoder (two-way
transformer, x4 upscaling, hypernetwork MLPs, IoU head) and postprocess, on a
checkpoint in the official format loaded strictly.

  sam_bench.py CKPT THREADS            -> "encode_ms point_ms box_ms" (one timed
                                          run each, after one untimed of each)
  sam_bench.py --parity REFDIR         checks the restatement on the tiny
                                        parity vectors (embedding, IoUs)
"""
import json
import math
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LN2d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + 1e-6)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLP2(nn.Module):  # lin1 / lin2: GELU in the encoder, ReLU in the two-way transformer
    def __init__(self, d, h, act=F.gelu):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(d, h), nn.Linear(h, d)
        self.act = act

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


def rel_pos(q_size, k_size, rel):
    m = 2 * max(q_size, k_size) - 1
    if rel.shape[0] != m:
        rel = F.interpolate(rel.reshape(1, rel.shape[0], -1).permute(0, 2, 1), size=m, mode="linear")
        rel = rel.reshape(-1, m).permute(1, 0)
    q = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    k = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    return rel[(q - k + (k_size - 1) * max(q_size / k_size, 1.0)).long()]


class Attn(nn.Module):
    def __init__(self, dim, heads, size):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)
        hd = dim // heads
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * size - 1, hd))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * size - 1, hd))

    def forward(self, x):
        B, H, W, _ = x.shape
        qkv = self.qkv(x).reshape(B, H * W, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, B * self.heads, H * W, -1).unbind(0)
        hd = q.shape[-1]
        attn = (q * hd ** -0.5) @ k.transpose(-2, -1)
        Rh, Rw = rel_pos(H, H, self.rel_pos_h), rel_pos(W, W, self.rel_pos_w)
        r_q = q.reshape(B * self.heads, H, W, hd)
        rh = torch.einsum("bhwc,hkc->bhwk", r_q, Rh)
        rw = torch.einsum("bhwc,wkc->bhwk", r_q, Rw)
        attn = (attn.view(-1, H, W, H, W) + rh[:, :, :, :, None] + rw[:, :, :, None, :]).view(-1, H * W, H * W)
        x = (attn.softmax(-1) @ v).view(B, self.heads, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, -1)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, heads, window):
        super().__init__()
        self.window = window
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attn(dim, heads, window if window else 64)
        self.mlp = MLP2(dim, dim * 4)

    def forward(self, x):
        s = x
        x = self.norm1(x)
        if self.window:
            H, W, w = x.shape[1], x.shape[2], self.window
            ph, pw = (w - H % w) % w, (w - W % w) % w
            x = F.pad(x, (0, 0, 0, pw, 0, ph))
            Hp, Wp = H + ph, W + pw
            B, C = x.shape[0], x.shape[3]
            x = x.view(B, Hp // w, w, Wp // w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, w, w, C)
            x = self.attn(x)
            x = x.view(B, Hp // w, Wp // w, w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(B, Hp, Wp, C)[:, :H, :W]
        else:
            x = self.attn(x)
        x = s + x
        return x + self.mlp(self.norm2(x))


class Encoder(nn.Module):
    def __init__(self, dim, depth, heads, glob):
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, 16, 16)
        self.pos_embed = nn.Parameter(torch.zeros(1, 64, 64, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, 0 if i in glob else 14) for i in range(depth))
        self.neck = nn.Sequential(nn.Conv2d(dim, 256, 1, bias=False), LN2d(256), nn.Conv2d(256, 256, 3, padding=1,
                                  bias=False), LN2d(256))

    def forward(self, x):
        x = self.patch_embed.proj(x).permute(0, 2, 3, 1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.neck(x.permute(0, 3, 1, 2))


class TAttn(nn.Module):
    def __init__(self, d, heads, down=1):
        super().__init__()
        i = d // down
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, i), nn.Linear(d, i), nn.Linear(d, i),
                                                                 nn.Linear(i, d))

    def forward(self, q, k, v):
        def sep(x):
            b, n, c = x.shape
            return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        q, k, v = sep(self.q_proj(q)), sep(self.k_proj(k)), sep(self.v_proj(v))
        a = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(-1)
        o = (a @ v).transpose(1, 2)
        return self.out_proj(o.reshape(o.shape[0], o.shape[1], -1))


class TwoWayBlock(nn.Module):
    def __init__(self, skip_pe):
        super().__init__()
        self.skip_pe = skip_pe
        self.self_attn = TAttn(256, 8)
        self.cross_attn_token_to_image = TAttn(256, 8, 2)
        self.cross_attn_image_to_token = TAttn(256, 8, 2)
        self.mlp = MLP2(256, 2048, F.relu)
        for i in range(1, 5):
            setattr(self, f"norm{i}", nn.LayerNorm(256))

    def forward(self, q, k, qpe, kpe):
        if self.skip_pe:
            q = self.self_attn(q, q, q)
        else:
            t = q + qpe
            q = q + self.self_attn(t, t, q)
        q = self.norm1(q)
        q = self.norm2(q + self.cross_attn_token_to_image(q + qpe, k + kpe, k))
        q = self.norm3(q + self.mlp(q))
        k = self.norm4(k + self.cross_attn_image_to_token(k + kpe, q + qpe, q))
        return q, k


class HMLP(nn.Module):
    def __init__(self, dims, sig=False):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, l in enumerate(self.layers):
            x = F.relu(l(x)) if i < len(self.layers) - 1 else l(x)
        return x


class Sam(nn.Module):
    def __init__(self, dim, depth, heads, glob):
        super().__init__()
        self.image_encoder = Encoder(dim, depth, heads, glob)
        pe = nn.Module()
        pe.pe_layer = nn.Module()
        pe.pe_layer.register_buffer("positional_encoding_gaussian_matrix", torch.zeros(2, 128))
        pe.point_embeddings = nn.ModuleList(nn.Embedding(1, 256) for _ in range(4))
        pe.not_a_point_embed, pe.no_mask_embed = nn.Embedding(1, 256), nn.Embedding(1, 256)
        pe.mask_downscaling = nn.Sequential(nn.Conv2d(1, 4, 2, 2), LN2d(4), nn.GELU(), nn.Conv2d(4, 16, 2, 2),
                                            LN2d(16), nn.GELU(), nn.Conv2d(16, 256, 1))
        self.prompt_encoder = pe
        md = nn.Module()
        md.transformer = nn.Module()
        md.transformer.layers = nn.ModuleList([TwoWayBlock(True), TwoWayBlock(False)])
        md.transformer.final_attn_token_to_image = TAttn(256, 8, 2)
        md.transformer.norm_final_attn = nn.LayerNorm(256)
        md.iou_token, md.mask_tokens = nn.Embedding(1, 256), nn.Embedding(4, 256)
        md.output_upscaling = nn.Sequential(nn.ConvTranspose2d(256, 64, 2, 2), LN2d(64), nn.GELU(),
                                            nn.ConvTranspose2d(64, 32, 2, 2), nn.GELU())
        md.output_hypernetworks_mlps = nn.ModuleList(HMLP([256, 256, 256, 32]) for _ in range(4))
        md.iou_prediction_head = HMLP([256, 256, 256, 4])
        self.mask_decoder = md
        self.register_buffer("pixel_mean", torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1), False)

    def pe(self, coords):  # coords in [0, 1]
        c = (2 * coords - 1) @ self.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix * (2 * math.pi)
        return torch.cat([c.sin(), c.cos()], -1)

    def dense_pe(self):
        g = (torch.arange(64, dtype=torch.float32) + 0.5) / 64
        grid = torch.stack([g[None, :].expand(64, 64), g[:, None].expand(64, 64)], -1)
        return self.pe(grid).permute(2, 0, 1)[None]

    def prompt(self, points, labels, box):
        pe = self.prompt_encoder
        sparse = []
        if points is not None:
            pts = points + 0.5
            if box is None:
                pts = torch.cat([pts, torch.zeros(1, 1, 2)], 1)
                labels = torch.cat([labels, -torch.ones(1, 1, dtype=labels.dtype)], 1)
            e = self.pe(pts / 1024)
            e[labels == -1] = 0.0
            e[labels == -1] += pe.not_a_point_embed.weight
            e[labels == 0] += pe.point_embeddings[0].weight
            e[labels == 1] += pe.point_embeddings[1].weight
            sparse.append(e)
        if box is not None:
            e = self.pe((box.reshape(-1, 2, 2) + 0.5) / 1024)
            e[:, 0] += pe.point_embeddings[2].weight[0]
            e[:, 1] += pe.point_embeddings[3].weight[0]
            sparse.append(e)
        dense = pe.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(1, -1, 64, 64)
        return torch.cat(sparse, 1), dense

    def decode(self, emb, sparse, dense, multimask):
        md = self.mask_decoder
        tok = torch.cat([md.iou_token.weight, md.mask_tokens.weight], 0)[None]
        tok = torch.cat([tok, sparse], 1)
        src = emb + dense
        pos = self.dense_pe()
        b, c, h, w = src.shape
        k, kpe, q = src.flatten(2).permute(0, 2, 1), pos.flatten(2).permute(0, 2, 1), tok
        for layer in md.transformer.layers:
            q, k = layer(q, k, tok, kpe)
        q = md.transformer.norm_final_attn(q + md.transformer.final_attn_token_to_image(q + tok, k + kpe, k))
        up = md.output_upscaling(k.transpose(1, 2).reshape(b, c, h, w))
        hyper = torch.stack([md.output_hypernetworks_mlps[i](q[:, 1 + i]) for i in range(4)], 1)
        masks = (hyper @ up.flatten(2)).view(b, 4, up.shape[2], up.shape[3])
        iou = md.iou_prediction_head(q[:, 0])
        s = slice(1, None) if multimask else slice(0, 1)
        return masks[:, s], iou[:, s]


def build(sd):
    dim = sd["image_encoder.pos_embed"].shape[-1]
    depth = len({k.split(".")[2] for k in sd if k.startswith("image_encoder.blocks.")})
    hd = sd["image_encoder.blocks.0.attn.rel_pos_h"].shape[1]
    glob = [i for i in range(depth) if sd[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape[0] == 127]
    m = Sam(dim, depth, dim // hd, glob)
    m.load_state_dict(sd, strict=True)
    return m.eval()


class Predictor:  # SamPredictor's set_image / predict
    def __init__(self, m):
        self.m = m

    def set_image(self, img):  # uint8 H x W x 3
        h, w = img.shape[:2]
        s = 1024 / max(h, w)
        nh, nw = int(h * s + 0.5), int(w * s + 0.5)
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
        x = F.interpolate(x, (nh, nw), mode="bilinear", align_corners=False, antialias=True)
        x = (x - self.m.pixel_mean) / self.m.pixel_std
        x = F.pad(x, (0, 1024 - nw, 0, 1024 - nh))
        self.orig, self.inp = (h, w), (nh, nw)
        self.emb = self.m.image_encoder(x)

    def predict(self, points=None, labels=None, box=None, multimask=True):
        sy, sx = self.inp[0] / self.orig[0], self.inp[1] / self.orig[1]
        p = torch.tensor(points, dtype=torch.float32)[None] * torch.tensor([sx, sy]) if points is not None else None
        lb = torch.tensor(labels, dtype=torch.int64)[None] if labels is not None else None
        bx = torch.tensor(box, dtype=torch.float32)[None] * torch.tensor([sx, sy, sx, sy]) if box is not None else None
        sparse, dense = self.m.prompt(p, lb, bx)
        low, iou = self.m.decode(self.emb, sparse, dense, multimask)
        m = F.interpolate(low, (1024, 1024), mode="bilinear", align_corners=False)[..., :self.inp[0], :self.inp[1]]
        m = F.interpolate(m, self.orig, mode="bilinear", align_corners=False)
        return (m > 0).numpy(), iou.numpy()


def read_st(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    hdr = json.loads(blob[8:8 + n])
    dt = {"F32": torch.float32, "I64": torch.int64, "U8": torch.uint8}
    return {k: torch.frombuffer(bytearray(blob[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]),
                                dtype=dt[v["dtype"]]).reshape(v["shape"]) for k, v in hdr.items() if k != "__metadata__"}


def parity(ref):
    t = read_st(f"{ref}/2.2.6-sam_tiny.parity.safetensors")
    t.update(read_st(f"{ref}/2.2.6-sam_tiny.parity.decoder.safetensors"))
    m = build({k[3:]: v for k, v in t.items() if k.startswith("sd.")})
    img = t["image.u8_192x256"].float().repeat_interleave(4, 2).repeat_interleave(4, 3)
    x = F.pad((img - m.pixel_mean) / m.pixel_std, (0, 0, 0, 1024 - 768))
    with torch.no_grad():
        e = m.image_encoder(x)
        d = (e - t["out.image_embeddings"]).abs().max().item()
        print(f"embedding: max abs difference {d:.2e}")
        for c in "abc":
            pts = t.get(f"case_{c}.point_coords")
            lb = t.get(f"case_{c}.point_labels")
            bx = t.get(f"case_{c}.boxes")
            sparse, dense = m.prompt(pts, lb, bx)
            for mode in ("multi", "single"):
                _, iou = m.decode(e, sparse, dense, mode == "multi")
                d = max(d, (iou - t[f"case_{c}.{mode}.iou_predictions"]).abs().max().item())
    print(f"max abs difference {d:.2e}")
    assert d < 1e-3, d


def main():
    if sys.argv[1] == "--parity":
        return parity(sys.argv[2])
    torch.set_num_threads(int(sys.argv[2]))
    obj = torch.load(sys.argv[1], map_location="cpu")
    p = Predictor(build(obj))
    import numpy as np
    from PIL import Image  # noqa: F401  (the placeholder is drawn with numpy, as the notebook does)
    h, w = 600, 800
    img = np.zeros((h, w, 3), dtype=np.uint8)
    for i in range(h):
        img[i, :, 0], img[i, :, 2] = int(255 * i / h), int(255 * (1 - i / h))
    img[:, :, 1] = 128
    pt, box = [[w // 2, h // 2]], [w // 4, h // 4, 3 * w // 4, 3 * h // 4]
    with torch.inference_mode():
        p.set_image(img)  # untimed, as lab's prompt study encodes before its benchmark
        p.predict(pt, [1])
        p.predict(box=box, multimask=False)
        t0 = time.perf_counter()
        p.set_image(img)
        t1 = time.perf_counter()
        p.predict(pt, [1])
        t2 = time.perf_counter()
        p.predict(box=box, multimask=False)
        t3 = time.perf_counter()
    print(f"{(t1 - t0) * 1e3:.1f} {(t2 - t1) * 1e3:.1f} {(t3 - t2) * 1e3:.1f}")


main()
