/* The class summary's figures, drawn with cairo into PNG bytes (for pages
 * that embed them). */
#ifndef GRADER_CHARTS_H
#define GRADER_CHARTS_H

#include <stddef.h>

/* Histogram of scores as fractions of the maximum (0..1) in `bins` equal
 * bins; counts above the bars. *png is malloc'd. */
int chart_score_histogram(const char *title, const double *fractions, size_t n, int bins, unsigned char **png,
                          size_t *len);

/* One horizontal bar per check: the fraction of submissions failing it. */
int chart_failure_rates(const char *title, const char *const *labels, const double *rates, size_t n,
                        unsigned char **png, size_t *len);

#endif
