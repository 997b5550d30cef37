/* SGD and AdamW with parameter groups: the update math of torch.optim
 * (1.13's single-tensor implementations), step for step. */
#include "shim/params_internal.h"

#include <cmath>

namespace {
enum { SGD, ADAMW };

struct group_cfg {
    double lr, weight_decay, momentum /* SGD momentum or AdamW beta1 */, beta2, eps, dampening;
    bool nesterov, frozen;
};

struct state {
    at::Tensor buf1, buf2; /* momentum buffer, or exp_avg and exp_avg_sq */
    int64_t step = 0;
};
} // namespace

struct ts_optim {
    int kind;
    ts_params *p;
    group_cfg defaults;
    std::vector<group_cfg> groups;
    std::vector<state> st;

    group_cfg &group(int g)
    {
        if (g < 0 || g > 4096)
            throw ts::arg_error("group must be 0..4096");
        if ((size_t)g >= groups.size())
            groups.resize(g + 1, defaults);
        return groups[g];
    }
};

namespace {
void sgd_update(const group_cfg &c, state &s, at::Tensor &param, const at::Tensor &grad)
{
    at::Tensor d_p = grad;
    if (c.weight_decay != 0)
        d_p = d_p.add(param, c.weight_decay);
    if (c.momentum != 0) {
        if (!s.buf1.defined())
            s.buf1 = d_p.clone().detach();
        else
            s.buf1.mul_(c.momentum).add_(d_p, 1 - c.dampening);
        d_p = c.nesterov ? d_p.add(s.buf1, c.momentum) : s.buf1;
    }
    param.add_(d_p, -c.lr);
}

void adamw_update(const group_cfg &c, state &s, at::Tensor &param, const at::Tensor &grad)
{
    if (!s.buf1.defined()) {
        s.buf1 = at::zeros_like(param, at::MemoryFormat::Preserve);
        s.buf2 = at::zeros_like(param, at::MemoryFormat::Preserve);
    }
    s.step++;
    param.mul_(1 - c.lr * c.weight_decay);
    s.buf1.mul_(c.momentum).add_(grad, 1 - c.momentum);
    s.buf2.mul_(c.beta2).addcmul_(grad, grad, 1 - c.beta2);
    double bc1 = 1 - std::pow(c.momentum, (double)s.step);
    double bc2 = 1 - std::pow(c.beta2, (double)s.step);
    double step_size = c.lr / bc1;
    at::Tensor denom = (s.buf2.sqrt() / std::sqrt(bc2)).add_(c.eps);
    param.addcdiv_(s.buf1, denom, -step_size);
}

int make(ts_optim **out, ts_params *p, int kind, const group_cfg &d)
{
    TS_TRY ts::need_out(out);
    if (!p)
        throw ts::arg_error("optimizer: parameter store is NULL");
    if (!(d.lr >= 0))
        throw ts::arg_error("optimizer: invalid learning rate (must be >= 0)");
    ts_optim *o = new ts_optim;
    o->kind = kind;
    o->p = p;
    o->defaults = d;
    *out = o;
    return TS_OK;
    TS_CATCH
}
} // namespace

extern "C" {

int ts_optim_sgd(ts_optim **out, ts_params *p, const struct ts_sgd_opts *opts)
{
    if (!opts)
        return ts::fail(TS_EARG, "ts_optim_sgd: opts is NULL");
    if (opts->nesterov && (opts->momentum <= 0 || opts->dampening != 0))
        return ts::fail(TS_EARG, "Nesterov momentum requires a momentum and zero dampening");
    group_cfg d{opts->lr, opts->weight_decay, opts->momentum, 0, 0, opts->dampening, opts->nesterov != 0, false};
    return make(out, p, SGD, d);
}

int ts_optim_adamw(ts_optim **out, ts_params *p, const struct ts_adamw_opts *opts)
{
    if (!opts)
        return ts::fail(TS_EARG, "ts_optim_adamw: opts is NULL");
    if (!(opts->beta1 >= 0 && opts->beta1 < 1 && opts->beta2 >= 0 && opts->beta2 < 1 && opts->eps >= 0))
        return ts::fail(TS_EARG, "AdamW: betas must be in [0, 1) and eps >= 0");
    group_cfg d{opts->lr, opts->weight_decay, opts->beta1, opts->beta2, opts->eps, 0, false, false};
    return make(out, p, ADAMW, d);
}

void ts_optim_free(ts_optim *o) { delete o; }

int ts_optim_step(ts_optim *o)
{
    TS_TRY
    if (!o)
        throw ts::arg_error("ts_optim_step: optimizer is NULL");
    c10::NoGradGuard ng;
    auto &entries = o->p->entries;
    if (o->st.size() < entries.size())
        o->st.resize(entries.size());
    for (size_t i = 0; i < entries.size(); i++) {
        auto &e = entries[i];
        if (e.kind != TS_PARAM)
            continue;
        at::Tensor &param = e.h->t;
        const at::Tensor &grad = param.grad();
        if (!grad.defined())
            continue;
        const group_cfg &c = o->group(e.group);
        if (c.frozen)
            continue;
        at::Tensor pd = param.detach();
        if (o->kind == SGD)
            sgd_update(c, o->st[i], pd, grad);
        else
            adamw_update(c, o->st[i], pd, grad);
    }
    return TS_OK;
    TS_CATCH
}

int ts_optim_zero_grad(ts_optim *o)
{
    TS_TRY
    if (!o)
        throw ts::arg_error("ts_optim_zero_grad: optimizer is NULL");
    for (auto &e : o->p->entries)
        if (e.h->t.grad().defined())
            e.h->t.mutable_grad().reset();
    return TS_OK;
    TS_CATCH
}

#define TS_SET_FIELD(fn, field)                                                                                  \
    int fn(ts_optim *o, int group, double v)                                                                    \
    {                                                                                                           \
        TS_TRY if (!o) throw ts::arg_error(#fn ": optimizer is NULL");                                          \
        if (group < 0) {                                                                                        \
            o->defaults.field = v;                                                                              \
            for (auto &g : o->groups)                                                                           \
                g.field = v;                                                                                    \
        } else                                                                                                  \
            o->group(group).field = v;                                                                          \
        return TS_OK;                                                                                           \
        TS_CATCH                                                                                                \
    }

TS_SET_FIELD(ts_optim_set_lr, lr)
TS_SET_FIELD(ts_optim_set_weight_decay, weight_decay)
TS_SET_FIELD(ts_optim_set_momentum, momentum)

int ts_optim_set_frozen(ts_optim *o, int group, int frozen)
{
    TS_TRY
    if (!o)
        throw ts::arg_error("ts_optim_set_frozen: optimizer is NULL");
    o->group(group).frozen = frozen != 0;
    return TS_OK;
    TS_CATCH
}

double ts_optim_get_lr(const ts_optim *o, int group)
{
    if (!o)
        return NAN;
    if (group < 0 || (size_t)group >= o->groups.size())
        return o->defaults.lr;
    return o->groups[group].lr;
}

} // extern "C"

/* ---- Optimizer state for checkpoints: "optim.<param>.buf1|buf2|step" ---- */
extern "C" int ts_optim_state_export(const ts_optim *o, struct ts_host_tensor **items, size_t *n, void **blob)
{
    ts_params *tmp = nullptr;
    int rc = ts_params_new(&tmp);
    if (rc != TS_OK)
        return rc;
    TS_TRY
    if (!o)
        throw ts::arg_error("ts_optim_state_export: optimizer is NULL");
    auto &entries = o->p->entries;
    for (size_t i = 0; i < o->st.size() && i < entries.size(); i++) {
        const state &s = o->st[i];
        const std::string base = "optim." + entries[i].name;
        std::pair<const char *, at::Tensor> parts[] = {
            {".buf1", s.buf1}, {".buf2", s.buf2}, {".step", s.buf1.defined() ? at::scalar_tensor(s.step, at::kLong) : at::Tensor()}};
        for (auto &part : parts) {
            if (!part.second.defined())
                continue;
            ts_tensor h;
            h.t = part.second;
            if ((rc = ts_params_add(tmp, (base + part.first).c_str(), &h, TS_BUFFER, 0, nullptr)) != TS_OK)
                break;
        }
        if (rc != TS_OK)
            break;
    }
    if (rc == TS_OK)
        rc = ts_params_export_host(tmp, items, n, blob);
    ts_params_free(tmp);
    return rc;
    TS_CATCH
}

extern "C" int ts_optim_state_import(ts_optim *o, const struct ts_host_tensor *items, size_t n)
{
    TS_TRY
    if (!o || (n && !items))
        throw ts::arg_error("ts_optim_state_import: NULL argument");
    auto &entries = o->p->entries;
    o->st.assign(entries.size(), state());
    for (size_t k = 0; k < n; k++) {
        std::string name = items[k].name;
        if (name.rfind("optim.", 0) != 0)
            continue;
        size_t dot = name.rfind('.');
        std::string param = name.substr(6, dot - 6), part = name.substr(dot);
        auto it = o->p->index.find(param);
        if (it == o->p->index.end())
            return ts::fail_fmt(TS_EARG, "optimizer state for unknown parameter '%s'", param.c_str());
        state &s = o->st[it->second];
        const at::Tensor &param_t = entries[it->second].h->t;
        at::Tensor host = at::from_blob(const_cast<void *>(items[k].data), std::vector<int64_t>(items[k].shape, items[k].shape + items[k].ndim),
                                        at::TensorOptions().dtype(ts::to_scalar(items[k].dtype)));
        if (part == ".step") {
            s.step = host.item<int64_t>();
            continue;
        }
        if (!host.sizes().equals(param_t.sizes()))
            return ts::fail_fmt(TS_EARG, "optimizer state '%s' has the wrong shape", name.c_str());
        at::Tensor v = host.to(param_t.options()).clone();
        if (part == ".buf1")
            s.buf1 = v;
        else if (part == ".buf2")
            s.buf2 = v;
    }
    return TS_OK;
    TS_CATCH
}
