#include "base/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double lab_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void lab_progress_start(struct lab_progress *p, FILE *out, enum lab_progress_mode mode, const char *label,
                        uint64_t total, const char *unit)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    if (mode == LAB_PROGRESS_AUTO) {
        const char *nc = getenv("NO_COLOR");
        int tty = isatty(fileno(out)) && !(nc && *nc);
        mode = tty ? LAB_PROGRESS_TTY : LAB_PROGRESS_PLAIN;
    }
    p->mode = mode;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->unit = unit ? unit : "";
    p->total = total;
    p->plain_interval_s = 10.0;
    p->now = lab_monotonic_s;
    p->start = p->now();
    p->last_draw = -1e9;
}

static void format_amount(char *buf, size_t cap, double v, const char *unit)
{
    if (strcmp(unit, "B") == 0) {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int i = 0;
        while (v >= 1024.0 && i < 4) {
            v /= 1024.0;
            i++;
        }
        snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", v, units[i]);
    } else {
        snprintf(buf, cap, "%.0f", v);
    }
}

static void format_duration(char *buf, size_t cap, double s)
{
    if (s < 0 || s > 359999)
        s = 359999;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, cap, "%02ld:%02ld", t / 60, t % 60);
}

static void format_rate(char *buf, size_t cap, double rate, const char *unit)
{
    if (strcmp(unit, "B") == 0) {
        format_amount(buf, cap, rate, unit);
        strncat(buf, "/s", cap - strlen(buf) - 1);
    } else {
        snprintf(buf, cap, "%.1f %s/s", rate, *unit ? unit : "it");
    }
}

void lab_progress_format(const struct lab_progress *p, const char *extra, char *buf, size_t cap)
{
    double elapsed = p->now() - p->start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char done[32], total[32], rate_s[48], eta[32] = "--:--";
    format_amount(done, sizeof done, (double)p->done, p->unit);
    format_amount(total, sizeof total, (double)p->total, p->unit);
    format_rate(rate_s, sizeof rate_s, rate, p->unit);
    if (p->total && rate > 0 && p->done <= p->total)
        format_duration(eta, sizeof eta, (double)(p->total - p->done) / rate);
    int n;
    if (p->total) {
        int pct = p->done >= p->total ? 100 : (int)(100.0 * (double)p->done / (double)p->total);
        if (p->mode == LAB_PROGRESS_TTY) {
            char bar[21];
            for (int i = 0; i < 20; i++)
                bar[i] = i < pct / 5 ? '#' : '.';
            bar[20] = '\0';
            n = snprintf(buf, cap, "%s [%s] %3d%% %s/%s %s ETA %s", p->label, bar, pct, done, total, rate_s, eta);
        } else {
            n = snprintf(buf, cap, "%s: %s/%s (%d%%) %s ETA %s", p->label, done, total, pct, rate_s, eta);
        }
    } else {
        n = snprintf(buf, cap, "%s: %s %s", p->label, done, rate_s);
    }
    if (extra && *extra && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "  %s", extra);
}

static void draw(struct lab_progress *p, const char *extra, int final)
{
    char line[512];
    lab_progress_format(p, extra, line, sizeof line);
    if (p->mode == LAB_PROGRESS_TTY)
        fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
    else
        fprintf(p->out, "%s\n", line);
    fflush(p->out);
}

void lab_progress_update(struct lab_progress *p, uint64_t done, const char *extra)
{
    p->done = done;
    if (p->mode == LAB_PROGRESS_QUIET)
        return;
    double t = p->now();
    double interval = p->mode == LAB_PROGRESS_TTY ? 0.1 : p->plain_interval_s;
    if (t - p->last_draw < interval)
        return;
    p->last_draw = t;
    draw(p, extra, 0);
}

void lab_progress_finish(struct lab_progress *p, const char *extra)
{
    if (p->mode == LAB_PROGRESS_QUIET)
        return;
    draw(p, extra, 1);
}
