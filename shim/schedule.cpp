/* Learning-rate schedules as pure functions of the step, matching
 * torch.optim.lr_scheduler (closed forms of 1.13's schedulers). Plain math:
 * no libtorch here. */
#include "shim/torchshim.h"

#include <cmath>

extern "C" {

double ts_lr_cosine(double base_lr, double eta_min, long step, long t_max)
{
    if (t_max <= 0)
        return base_lr;
    return eta_min + (base_lr - eta_min) * (1 + std::cos(M_PI * (double)step / (double)t_max)) / 2;
}

double ts_lr_linear(double base_lr, double start_factor, double end_factor, long step, long total_iters)
{
    if (total_iters <= 0)
        return base_lr * end_factor;
    long s = step < total_iters ? step : total_iters;
    return base_lr * (start_factor + (end_factor - start_factor) * (double)s / (double)total_iters);
}

double ts_lr_warmup_cosine(double base_lr, double start_factor, long warmup, double eta_min, long step, long total)
{
    if (step < warmup)
        return ts_lr_linear(base_lr, start_factor, 1.0, step, warmup);
    return ts_lr_cosine(base_lr, eta_min, step - warmup, total - warmup);
}

double ts_lr_step(double base_lr, long step_size, double gamma, long step)
{
    if (step_size <= 0)
        return base_lr;
    return base_lr * std::pow(gamma, (double)(step / step_size));
}

static double anneal_cos(double start, double end, double pct)
{
    return end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1);
}

double ts_lr_onecycle(double max_lr, long total_steps, double pct_start, double div_factor, double final_div_factor,
                      double base_momentum, double max_momentum, long step, double *momentum)
{
    double initial_lr = max_lr / div_factor;
    double min_lr = initial_lr / final_div_factor;
    /* two phases, as OneCycleLR(three_phase=False) */
    double end1 = pct_start * (double)total_steps - 1, end2 = (double)total_steps - 1;
    double lr, mom;
    if ((double)step <= end1) {
        double pct = (double)step / end1;
        lr = anneal_cos(initial_lr, max_lr, pct);
        mom = anneal_cos(max_momentum, base_momentum, pct);
    } else {
        double pct = ((double)step - end1) / (end2 - end1);
        lr = anneal_cos(max_lr, min_lr, pct);
        mom = anneal_cos(base_momentum, max_momentum, pct);
    }
    if (momentum)
        *momentum = mom;
    return lr;
}

} // extern "C"
