#include "grader/lms_names.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *lms_kind_name(enum lms_kind k)
{
    return k == LMS_CANVAS ? "canvas" : k == LMS_MOODLE ? "moodle" : "";
}

void lms_student_id(const struct lms_name *n, char *buf, size_t cap)
{
    if (n->kind == LMS_NONE)
        snprintf(buf, cap, "%s", "");
    else
        snprintf(buf, cap, "%s:%s", lms_kind_name(n->kind), n->user_id);
}

/* 1 when s[0..len) is 1 to LMS_ID_MAX-1 ASCII digits. */
static int all_digits(const char *s, size_t len)
{
    if (len == 0 || len >= LMS_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int copy_part(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return 0;
    memcpy(dst, s, len);
    dst[len] = 0;
    return 1;
}

/* The name part may not be empty, all digits, or contain a control byte. */
static int plausible_name(const char *s, size_t len)
{
    if (len == 0 || all_digits(s, len))
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static bool parse_moodle(const char *base, struct lms_name *out)
{
    static const char marker[] = "_assignsubmission_";
    const char *m = strstr(base, marker);
    if (!m)
        return false;
    /* "<Full Name>_<id>" before the marker. */
    const char *us = NULL;
    for (const char *p = m - 1; p >= base; p--)
        if (*p == '_') {
            us = p;
            break;
        }
    if (!us || !all_digits(us + 1, (size_t)(m - us - 1)) || !plausible_name(base, (size_t)(us - base)))
        return false;
    const char *plugin = m + sizeof marker - 1;
    size_t rest;
    if (strncmp(plugin, "file_", 5) == 0)
        rest = 5;
    else if (strncmp(plugin, "onlinetext_", 11) == 0)
        rest = 11, out->onlinetext = true;
    else
        return false;
    if (!copy_part(out->user_id, sizeof out->user_id, us + 1, (size_t)(m - us - 1)) ||
        !copy_part(out->name, sizeof out->name, base, (size_t)(us - base)))
        return false;
    out->file_off = (size_t)(plugin + rest - base);
    out->kind = LMS_MOODLE;
    return true;
}

/* The first two consecutive all-digit tokens after at least one name token,
 * followed by a non-empty file name. */
static bool parse_canvas(const char *base, struct lms_name *out)
{
    const char *tok[4] = {0}; /* starts of the last tokens seen */
    size_t ntok = 0;
    for (const char *p = base;;) {
        const char *end = strchr(p, '_');
        if (!end)
            return false; /* no file part left */
        if (ntok >= 1) {
            /* p is token ntok; is it and the next one digits, with a file after? */
            const char *end2 = strchr(end + 1, '_');
            if (end2 && end2[1] && all_digits(p, (size_t)(end - p)) &&
                all_digits(end + 1, (size_t)(end2 - end - 1))) {
                const char *name_end = p - 1; /* the '_' before the user id */
                bool late = false;
                /* A "late" token just before the ids is Canvas's marker. */
                if (ntok >= 2 && name_end - tok[0] == 4 && strncasecmp(tok[0], "late", 4) == 0) {
                    late = true;
                    name_end = tok[0] - 1;
                }
                size_t name_len = (size_t)(name_end - base);
                if (!plausible_name(base, name_len) ||
                    !copy_part(out->user_id, sizeof out->user_id, p, (size_t)(end - p)) ||
                    !copy_part(out->submission_id, sizeof out->submission_id, end + 1,
                               (size_t)(end2 - end - 1)) ||
                    !copy_part(out->name, sizeof out->name, base, name_len))
                    return false;
                out->late = late;
                out->file_off = (size_t)(end2 + 1 - base);
                out->kind = LMS_CANVAS;
                return true;
            }
        }
        tok[0] = p; /* only the previous token matters (the late marker) */
        ntok++;
        p = end + 1;
    }
}

bool lms_parse_name(const char *base, struct lms_name *out)
{
    memset(out, 0, sizeof *out);
    if (!base || !*base || strchr(base, '/'))
        return false;
    if (parse_moodle(base, out))
        return true;
    memset(out, 0, sizeof *out);
    if (parse_canvas(base, out))
        return true;
    memset(out, 0, sizeof *out);
    return false;
}
