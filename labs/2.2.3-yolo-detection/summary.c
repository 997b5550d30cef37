/* The notebook's summary table (lab [20]) as text and as Markdown. */
#include "labs/2.2.3-yolo-detection/full.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
    char *s;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s, b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void rule(struct buf *b, char c)
{
    char line[71];
    memset(line, c, 70);
    line[70] = 0;
    add(b, "%s\n", line);
}

/* The notebook's picks: the highest FPS, the highest mAP, and s. */
static void picks(const struct yolo_summary_row *rows, int n, int *fast, int *best)
{
    *fast = *best = 0;
    for (int i = 1; i < n; i++) {
        if (rows[i].lat.fps > rows[*fast].lat.fps)
            *fast = i;
        if (rows[i].map50_95 > rows[*best].map50_95)
            *best = i;
    }
}

char *yolo_summary_table(const struct yolo_summary_row *rows, int n, const char *title_note)
{
    struct buf b = {0};
    add(&b, "\n");
    rule(&b, '=');
    add(&b, "📊 BENCHMARK SUMMARY%s%s\n", title_note && *title_note ? ": " : "", title_note ? title_note : "");
    rule(&b, '=');
    add(&b, "%-12s%12s%12s%12s%12s\n", "Model", "Parameters", "mAP50-95", "Time (ms)", "FPS");
    rule(&b, '-');
    for (int i = 0; i < n; i++) {
        char map[32];
        if (rows[i].map50_95 >= 0)
            snprintf(map, sizeof map, "%11.1f%%", rows[i].map50_95);
        else
            snprintf(map, sizeof map, "%12s", "-");
        add(&b, "%-12s%10.1fM%s%12.1f%12.1f\n", rows[i].model, rows[i].params / 1e6, map, rows[i].lat.mean_ms,
            rows[i].lat.fps);
    }
    rule(&b, '=');
    if (n > 0) {
        int fast, best;
        picks(rows, n, &fast, &best);
        add(&b, "\n💡 Recommendations:\n");
        add(&b, "   - For real-time video (30+ FPS): Use %s\n", rows[fast].model);
        add(&b, "   - For best accuracy: Use %s\n", rows[best].model);
        add(&b, "   - For balanced performance: Use yolov8s\n");
    }
    return b.s;
}

char *yolo_summary_markdown(const struct yolo_summary_row *rows, int n, const char *title_note)
{
    struct buf b = {0};
    add(&b, "# Lab 2.2.3: YOLOv8 benchmark summary\n\n%s\n\n", title_note ? title_note : "");
    add(&b, "| model | parameters | COCO mAP50-95 (published) | mean ms | median ms | FPS (1000 / mean) |\n");
    add(&b, "|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        char map[32];
        if (rows[i].map50_95 >= 0)
            snprintf(map, sizeof map, "%.1f", rows[i].map50_95);
        else
            snprintf(map, sizeof map, "-");
        add(&b, "| %s | %lld | %s | %.1f | %.1f | %.1f |\n", rows[i].model, (long long)rows[i].params, map,
            rows[i].lat.mean_ms, rows[i].lat.median_ms, rows[i].lat.fps);
    }
    add(&b, "\nmAP50-95 is COCO val2017's as Ultralytics publishes it for the released weights (the notebook "
            "labels it mAP@0.5); the times are this run's, of one full predict call (letterbox, forward, NMS) "
            "on a random image.\n");
    return b.s;
}
