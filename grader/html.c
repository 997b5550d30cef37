#include "grader/html.h"

#include "base/utf8.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(struct html *h, size_t more)
{
    if (h->oom)
        return -1;
    if (h->len + more + 1 <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 4096;
    while (cap < h->len + more + 1)
        cap *= 2;
    char *b = realloc(h->buf, cap);
    if (!b) {
        h->oom = 1;
        return -1;
    }
    h->buf = b, h->cap = cap;
    return 0;
}

static void put(struct html *h, const char *s, size_t n)
{
    if (grow(h, n))
        return;
    memcpy(h->buf + h->len, s, n);
    h->len += n;
    h->buf[h->len] = 0;
}

void html_raw(struct html *h, const char *s) { put(h, s, strlen(s)); }

static void text_n(struct html *h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            put(h, "&amp;", 5);
            break;
        case '<':
            put(h, "&lt;", 4);
            break;
        case '>':
            put(h, "&gt;", 4);
            break;
        case '"':
            put(h, "&quot;", 6);
            break;
        case '\'':
            put(h, "&#39;", 5);
            break;
        default:
            if (c >= 0x80) { /* well-formed UTF-8 as it is; other bytes escaped, not dropped */
                size_t l = lab_utf8_seq(s + i, n - i);
                char esc[8];
                if (l)
                    put(h, s + i, l), i += l - 1;
                else
                    put(h, esc, (size_t)snprintf(esc, sizeof esc, "\\x%02x", c));
            } else if (c >= 0x20 || c == '\n' || c == '\t') {
                /* XML forbids most control characters, even as references. */
                put(h, (const char *)&s[i], 1);
            }
        }
    }
}

void html_text(struct html *h, const char *s)
{
    if (s)
        text_n(h, s, strlen(s));
}

void html_fmt(struct html *h, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        put(h, small, (size_t)n);
        return;
    }
    if (grow(h, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(h->buf + h->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    h->len += (size_t)n;
}

void html_png(struct html *h, const void *png, size_t len, const char *alt)
{
    html_raw(h, "<img alt=\"");
    html_text(h, alt);
    html_raw(h, "\" src=\"data:image/png;base64,");
    size_t out = 4 * ((len + 2) / 3);
    if (grow(h, out + 1))
        return;
    EVP_EncodeBlock((unsigned char *)h->buf + h->len, png, (int)len);
    h->len += out;
    h->buf[h->len] = 0;
    html_raw(h, "\" />");
}

/* `code` spans inside one line of text. */
static void inline_md(struct html *h, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *tick = memchr(s + i, '`', n - i);
        const char *close = tick ? memchr(tick + 1, '`', (size_t)(s + n - tick - 1)) : NULL;
        if (!tick || !close) {
            text_n(h, s + i, n - i);
            return;
        }
        text_n(h, s + i, (size_t)(tick - s - (ptrdiff_t)i));
        html_raw(h, "<code>");
        text_n(h, tick + 1, (size_t)(close - tick - 1));
        html_raw(h, "</code>");
        i = (size_t)(close - s) + 1;
    }
}

void html_markdown(struct html *h, const char *md, int level)
{
    enum { NONE, PARA, LIST } open = NONE;
    const char *p = md;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *line = p;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        size_t indent = 0;
        while (indent < n && line[indent] == ' ')
            indent++;
        const char *body = line + indent;
        size_t bn = n - indent;
        if (bn == 0) {
            if (open == PARA)
                html_raw(h, "</p>\n");
            if (open == LIST)
                html_raw(h, "</li></ul>\n");
            open = NONE;
        } else if (bn > 2 && body[0] == '#') {
            if (open == PARA)
                html_raw(h, "</p>\n");
            if (open == LIST)
                html_raw(h, "</li></ul>\n");
            open = NONE;
            size_t k = 0;
            while (k < bn && body[k] == '#')
                k++;
            while (k < bn && body[k] == ' ')
                k++;
            html_fmt(h, "<h%d>", level);
            inline_md(h, body + k, bn - k);
            html_fmt(h, "</h%d>\n", level);
        } else if (bn > 1 && (body[0] == '-' || body[0] == '*') && body[1] == ' ') {
            if (open == PARA)
                html_raw(h, "</p>\n");
            html_raw(h, open == LIST ? "</li>\n<li>" : "<ul>\n<li>");
            open = LIST;
            inline_md(h, body + 2, bn - 2);
        } else {
            if (open == NONE) {
                html_raw(h, "<p>");
                open = PARA;
            } else {
                html_raw(h, " ");
            }
            inline_md(h, body, bn);
        }
        p = nl ? nl + 1 : NULL;
    }
    if (open == PARA)
        html_raw(h, "</p>\n");
    if (open == LIST)
        html_raw(h, "</li></ul>\n");
}

void html_begin(struct html *h, const char *title)
{
    html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<title>");
    html_text(h, title);
    html_raw(h, "</title>\n<style>\n"
                "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\n"
                "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
                "text-align:left;vertical-align:top}\n"
                ".pass{color:#1a7f37}.fail{color:#c62828}.other{color:#8a6d00}\n"
                ".kb{background:#f6f8fa;border-left:4px solid #c62828;padding:.2em 1em;margin:.5em 0 1em}\n"
                "code{background:#eee;padding:0 .2em}img{max-width:100%;margin:.5em 0}\n"
                "</style>\n</head>\n<body>\n");
}

void html_end(struct html *h) { html_raw(h, "</body>\n</html>\n"); }

void html_free(struct html *h)
{
    if (!h)
        return;
    free(h->buf);
    memset(h, 0, sizeof *h);
}
