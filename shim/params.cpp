/* The parameter store: named parameters and buffers, load/export by name. */
#include "shim/params_internal.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

using ts::T;

namespace {
std::string shape_str(at::IntArrayRef s)
{
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < s.size(); i++)
        o << (i ? ", " : "") << s[i];
    o << "]";
    return o.str();
}

void note(char **list, size_t *count, const std::string &s)
{
    if (*count < TS_REPORT_MAX)
        list[*count] = strdup(s.c_str());
    (*count)++;
}

bool is_float(int dt) { return dt == TS_F16 || dt == TS_BF16 || dt == TS_F32 || dt == TS_F64; }
} // namespace

extern "C" {

int ts_params_new(ts_params **out)
{
    TS_TRY ts::need_out(out);
    *out = new ts_params;
    return TS_OK;
    TS_CATCH
}

void ts_params_free(ts_params *p)
{
    if (!p)
        return;
    for (auto &e : p->entries)
        delete e.h; /* store handles are not counted as live nor scoped */
    delete p;
}

int ts_params_add(ts_params *p, const char *name, const ts_tensor *t, int kind, int group, ts_tensor **handle)
{
    TS_TRY
    if (!p || !name || !*name)
        throw ts::arg_error("ts_params_add: needs a store and a non-empty name");
    if (kind != TS_PARAM && kind != TS_BUFFER)
        throw ts::arg_error("ts_params_add: kind must be TS_PARAM or TS_BUFFER");
    if (group < 0)
        throw ts::arg_error("ts_params_add: group must be >= 0");
    if (p->index.count(name))
        return ts::fail_fmt(TS_EARG, "parameter '%s' is already in the store (names must be unique)", name);
    at::Tensor x = T(t).detach();
    if (kind == TS_PARAM)
        x.requires_grad_(true);
    p->entries.reserve(p->entries.size() + 1);
    ts_tensor *h = new ts_tensor;
    h->t = std::move(x);
    h->borrowed = true;
    try {
        p->index.emplace(name, p->entries.size());
        p->entries.push_back({name, h, kind, group});
    } catch (...) {
        p->index.erase(name);
        delete h;
        throw;
    }
    if (handle)
        *handle = h;
    return TS_OK;
    TS_CATCH
}

ts_tensor *ts_params_get(const ts_params *p, const char *name)
{
    if (!p || !name)
        return nullptr;
    auto it = p->index.find(name);
    return it == p->index.end() ? nullptr : p->entries[it->second].h;
}

size_t ts_params_count(const ts_params *p) { return p ? p->entries.size() : 0; }

size_t ts_params_count_kind(const ts_params *p, int kind)
{
    size_t n = 0;
    if (p)
        for (auto &e : p->entries)
            n += e.kind == kind;
    return n;
}

int64_t ts_params_numel(const ts_params *p, int kind)
{
    int64_t n = 0;
    if (p)
        for (auto &e : p->entries)
            if (kind < 0 || e.kind == kind)
                n += e.h->t.numel();
    return n;
}

int ts_params_at(const ts_params *p, size_t i, const char **name, ts_tensor **handle, int *kind, int *group)
{
    if (!p || i >= p->entries.size())
        return ts::fail(TS_EARG, "ts_params_at: index out of range");
    auto &e = p->entries[i];
    if (name)
        *name = e.name.c_str();
    if (handle)
        *handle = e.h;
    if (kind)
        *kind = e.kind;
    if (group)
        *group = e.group;
    return TS_OK;
}

int ts_params_set_group(ts_params *p, const char *name, int group)
{
    if (!p || !name || group < 0)
        return ts::fail(TS_EARG, "ts_params_set_group: needs a store, a name and a group >= 0");
    auto it = p->index.find(name);
    if (it == p->index.end())
        return ts::fail_fmt(TS_EARG, "no parameter named '%s'", name);
    p->entries[it->second].group = group;
    return TS_OK;
}

int ts_params_to(ts_params *p, ts_device device, int dtype)
{
    TS_TRY
    if (!p)
        throw ts::arg_error("ts_params_to: store is NULL");
    at::Device dev = ts::to_device(device);
    std::vector<at::Tensor> moved;
    moved.reserve(p->entries.size());
    for (auto &e : p->entries) {
        at::Tensor x = e.h->t.detach();
        at::ScalarType st = (dtype >= 0 && x.is_floating_point()) ? ts::to_scalar(dtype) : x.scalar_type();
        at::Tensor y = x.to(dev, st);
        if (e.kind == TS_PARAM)
            y = y.detach().requires_grad_(true);
        moved.push_back(std::move(y));
    }
    for (size_t i = 0; i < moved.size(); i++)
        p->entries[i].h->t = std::move(moved[i]);
    return TS_OK;
    TS_CATCH
}

void ts_load_report_free(struct ts_load_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < TS_REPORT_MAX; i++) {
        free(r->missing[i]);
        free(r->unexpected[i]);
        free(r->mismatched[i]);
    }
    memset(r, 0, sizeof *r);
}

int ts_params_load_host(ts_params *p, const struct ts_host_tensor *items, size_t n, int strict,
                        struct ts_load_report *report)
{
    struct ts_load_report local;
    struct ts_load_report *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    TS_TRY
    if (!p || (n && !items))
        throw ts::arg_error("ts_params_load_host: needs a store and items");
    std::vector<std::pair<size_t, at::Tensor>> todo; /* entry index, source */
    std::vector<bool> seen(p->entries.size(), false);
    for (size_t i = 0; i < n; i++) {
        const ts_host_tensor &it = items[i];
        if (!it.name)
            throw ts::arg_error("ts_params_load_host: an item has no name");
        auto f = p->index.find(it.name);
        if (f == p->index.end()) {
            note(r->unexpected, &r->n_unexpected, it.name);
            continue;
        }
        auto &e = p->entries[f->second];
        seen[f->second] = true;
        if (it.ndim < 0 || it.ndim > 8)
            throw ts::arg_error(std::string("item '") + it.name + "' has ndim outside 0..8");
        at::IntArrayRef shape(it.shape, it.ndim);
        at::IntArrayRef want = e.h->t.sizes();
        int want_dt = ts::from_scalar(e.h->t.scalar_type());
        bool dtype_ok = it.dtype == want_dt || (is_float(it.dtype) && is_float(want_dt));
        if (shape != want || !dtype_ok || ts_dtype_size(it.dtype) == 0) {
            note(r->mismatched, &r->n_mismatched,
                 std::string(it.name) + ": file " + ts_dtype_name(it.dtype) + " " + shape_str(shape) + " vs model " +
                     ts_dtype_name(want_dt) + " " + shape_str(want));
            continue;
        }
        int64_t numel = 1;
        for (int d = 0; d < it.ndim; d++) {
            if (it.shape[d] < 0)
                throw ts::arg_error(std::string("item '") + it.name + "' has a negative dimension");
            numel *= it.shape[d];
        }
        if ((size_t)numel * ts_dtype_size(it.dtype) != it.nbytes || (it.nbytes && !it.data))
            return ts::fail_fmt(TS_EARG, "item '%s': %zu bytes of data for %lld elements of %s", it.name, it.nbytes,
                                (long long)numel, ts_dtype_name(it.dtype));
        todo.emplace_back(f->second, at::from_blob(const_cast<void *>(it.data), shape, ts::opts(it.dtype, TS_CPU)));
    }
    for (size_t i = 0; i < p->entries.size(); i++)
        if (!seen[i])
            note(r->missing, &r->n_missing, p->entries[i].name);
    if (strict && (r->n_missing || r->n_unexpected || r->n_mismatched)) {
        std::string first = r->n_missing ? std::string("missing '") + r->missing[0] + "'"
                            : r->n_unexpected ? std::string("unexpected '") + r->unexpected[0] + "'"
                                              : std::string("shape or dtype mismatch ") + r->mismatched[0];
        int st = ts::fail_fmt(TS_EARG,
                              "strict load refused: %zu missing, %zu unexpected, %zu mismatched keys (first: %s); "
                              "nothing was loaded",
                              r->n_missing, r->n_unexpected, r->n_mismatched, first.c_str());
        if (!report)
            ts_load_report_free(&local);
        return st;
    }
    {
        c10::NoGradGuard ng;
        for (auto &td : todo)
            p->entries[td.first].h->t.copy_(td.second);
    }
    r->loaded = todo.size();
    if (!report)
        ts_load_report_free(&local);
    return TS_OK;
    }
    catch (const ts::arg_error &e) { if (!report) ts_load_report_free(&local); return ts::fail(TS_EARG, e.what()); }
    catch (const c10::Error &e) { if (!report) ts_load_report_free(&local); return ts::fail(TS_ETORCH, e.what_without_backtrace()); }
    catch (const std::bad_alloc &) { if (!report) ts_load_report_free(&local); return ts::fail(TS_EOOM, "out of host memory"); }
    catch (...) { if (!report) ts_load_report_free(&local); return ts::fail(TS_ETORCH, "unknown C++ exception in libtorch"); }
}

int ts_params_export_host(const ts_params *p, struct ts_host_tensor **items, size_t *n, void **blob)
{
    TS_TRY
    if (!p || !items || !n || !blob)
        throw ts::arg_error("ts_params_export_host: NULL argument");
    *items = nullptr;
    *n = 0;
    *blob = nullptr;
    size_t count = p->entries.size(), total = 0;
    std::vector<at::Tensor> host;
    host.reserve(count);
    for (auto &e : p->entries) {
        if (e.h->t.dim() > 8)
            return ts::fail_fmt(TS_EARG, "'%s' has more than 8 dimensions", e.name.c_str());
        if (ts::from_scalar(e.h->t.scalar_type()) < 0)
            return ts::fail_fmt(TS_EARG, "'%s' has a dtype the shim does not name", e.name.c_str());
        host.push_back(e.h->t.detach().to(at::kCPU).contiguous());
        total += (host.back().nbytes() + 63) / 64 * 64 + e.name.size() + 1;
    }
    struct ts_host_tensor *arr = (struct ts_host_tensor *)calloc(count ? count : 1, sizeof *arr);
    char *mem = (char *)malloc(total + 64);
    if (!arr || !mem) {
        free(arr);
        free(mem);
        return ts::fail(TS_EOOM, "out of host memory exporting parameters");
    }
    /* data first, 64-byte aligned, names after */
    char *cur = (char *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    for (size_t i = 0; i < count; i++) {
        size_t nb = host[i].nbytes();
        if (nb)
            memcpy(cur, host[i].data_ptr(), nb);
        arr[i].data = cur;
        arr[i].nbytes = nb;
        arr[i].dtype = ts::from_scalar(host[i].scalar_type());
        arr[i].ndim = (int)host[i].dim();
        for (int d = 0; d < arr[i].ndim; d++)
            arr[i].shape[d] = host[i].size(d);
        cur += (nb + 63) / 64 * 64;
    }
    for (size_t i = 0; i < count; i++) {
        const std::string &nm = p->entries[i].name;
        memcpy(cur, nm.c_str(), nm.size() + 1);
        arr[i].name = cur;
        cur += nm.size() + 1;
    }
    *items = arr;
    *n = count;
    *blob = mem;
    return TS_OK;
    TS_CATCH
}

int ts_clip_grad_norm(ts_params *p, double max_norm, double norm_type, double *total_norm)
{
    TS_TRY
    if (!p)
        throw ts::arg_error("ts_clip_grad_norm: store is NULL");
    c10::NoGradGuard ng;
    std::vector<at::Tensor> grads;
    for (auto &e : p->entries)
        if (e.kind == TS_PARAM && e.h->t.grad().defined())
            grads.push_back(e.h->t.grad());
    if (grads.empty()) {
        if (total_norm)
            *total_norm = 0;
        return TS_OK;
    }
    /* torch.nn.utils.clip_grad_norm_ (1.13), step for step */
    at::Device dev = grads[0].device();
    at::Tensor total;
    if (std::isinf(norm_type)) {
        std::vector<at::Tensor> norms;
        for (auto &g : grads)
            norms.push_back(g.detach().abs().max().to(dev));
        total = norms.size() == 1 ? norms[0] : at::stack(norms).max();
    } else {
        std::vector<at::Tensor> norms;
        for (auto &g : grads)
            norms.push_back(at::norm(g.detach(), norm_type).to(dev));
        total = at::norm(at::stack(norms), norm_type);
    }
    at::Tensor coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);
    for (auto &g : grads)
        g.detach().mul_(coef.to(g.device()));
    if (total_norm)
        *total_norm = total.item<double>();
    return TS_OK;
    TS_CATCH
}

} // extern "C"
