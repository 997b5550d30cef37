/* Building self-contained HTML pages in memory. Every piece of text that
 * came from a submission, the gradebook or the knowledge base goes through
 * html_text (escaped); only markup the caller wrote goes through html_raw.
 * The output is well-formed XML as well as HTML (void elements closed), so
 * tests check it with an XML parser. */
#ifndef GRADER_HTML_H
#define GRADER_HTML_H

#include <stddef.h>

struct html {
    char *buf;
    size_t len, cap;
    int oom; /* an allocation failed: the page is incomplete */
};

void html_raw(struct html *h, const char *s);
void html_text(struct html *h, const char *s); /* & < > " ' escaped; control bytes dropped */
void html_fmt(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3))); /* raw */
/* <img> with the PNG inline as base64 (data: URL); alt escaped. */
void html_png(struct html *h, const void *png, size_t len, const char *alt);
/* The small Markdown of troubleshooting entries (## headings, - lists,
 * paragraphs, `code`), escaped, headings demoted to `level`. */
void html_markdown(struct html *h, const char *md, int level);
void html_free(struct html *h);

/* `<!DOCTYPE html>` ... `<body>` with a title and the shared style. */
void html_begin(struct html *h, const char *title);
void html_end(struct html *h);

#endif
