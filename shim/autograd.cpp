/* Autograd controls: requires_grad, backward, gradients, grad mode. */
#include "shim/internal.h"

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

using ts::T;

extern "C" {

int ts_set_requires_grad(ts_tensor *t, int requires_grad)
{
    TS_TRY
    const_cast<at::Tensor &>(T(t)).requires_grad_(requires_grad != 0);
    return TS_OK;
    TS_CATCH
}

int ts_requires_grad(const ts_tensor *t) { return t && t->t.defined() && t->t.requires_grad(); }

int ts_backward(const ts_tensor *t, const ts_tensor *grad)
{
    TS_TRY
    const at::Tensor &x = T(t);
    if (grad)
        torch::autograd::backward({x}, {T(grad, "grad")});
    else
        torch::autograd::backward({x});
    return TS_OK;
    TS_CATCH
}

int ts_grad(ts_tensor **out, const ts_tensor *t)
{
    TS_TRY ts::need_out(out);
    const at::Tensor &g = T(t).grad();
    *out = g.defined() ? ts::wrap(g) : nullptr;
    return TS_OK;
    TS_CATCH
}

int ts_zero_grad(ts_tensor *t)
{
    TS_TRY
    at::Tensor &x = const_cast<at::Tensor &>(T(t));
    if (x.grad().defined())
        x.mutable_grad().reset();
    return TS_OK;
    TS_CATCH
}

int ts_detach(ts_tensor **out, const ts_tensor *t) { TS_OP(out, T(t).detach()); }

int ts_no_grad_push(void)
{
    int prev = at::GradMode::is_enabled() ? 1 : 0;
    at::GradMode::set_enabled(false);
    return prev;
}

void ts_grad_mode_pop(int previous) { at::GradMode::set_enabled(previous != 0); }

int ts_grad_enabled(void) { return at::GradMode::is_enabled() ? 1 : 0; }

} // extern "C"
