/* `lab grades export|feedback|duplicates`: what instructors take out of the
 * gradebook that `lab grade --batch` wrote. */
#include "base/error.h"
#include "base/fsutil.h"
#include "grader/grades.h"
#include "runner/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_DB = 1, O_LAB, O_CSV, O_JSON, O_OUT };

const struct lab_opt lab_grades_options[] = {
    {O_DB, "db", 0, LAB_OPT_STR, "FILE", "the gradebook (default ./gradebook.sqlite)", 0, 0, NULL},
    {O_LAB, "lab", 0, LAB_OPT_STR, "ID", "only this lab", 0, 0, NULL},
    {O_CSV, "csv", 0, LAB_OPT_FLAG, NULL, "export as CSV (the default; fields a spreadsheet would run as\nformulas are prefixed with ')", 0, 0, NULL},
    {O_JSON, "json", 0, LAB_OPT_FLAG, NULL, "export, or the duplicates report, as JSON", 0, 0, NULL},
    {O_OUT, "out", 'o', LAB_OPT_STR, "FILE|DIR", "export: write FILE instead of stdout; feedback: the folder", 0, 0, NULL},
    {0},
};

struct grades_args {
    const char *what, *db, *lab, *out;
    int csv, json;
};

static int parse(int argc, char **argv, struct grades_args *a)
{
    static const char *const actions[] = {"export", "feedback", "duplicates", NULL};
    memset(a, 0, sizeof *a);
    a->db = "gradebook.sqlite";
    struct lab_opts p;
    lab_opts_init(&p, "grades", lab_grades_options, argc, argv);
    int c;
    while ((c = lab_opts_next(&p)) > 0) {
        switch (c) {
        case O_DB: a->db = p.value; break;
        case O_LAB: a->lab = p.value; break;
        case O_CSV: a->csv = 1; break;
        case O_JSON: a->json = 1; break;
        case O_OUT: a->out = p.value; break;
        }
    }
    if (c < 0)
        return c;
    if (p.npos == 0)
        return lab_cli_usage("grades", "say what to do: export, feedback or duplicates");
    a->what = p.pos[0];
    int known = 0;
    for (size_t i = 0; actions[i]; i++)
        known |= strcmp(actions[i], a->what) == 0;
    if (!known)
        return lab_opts_bad_value("lab grades", a->what, actions);
    if (p.npos > 1)
        return lab_cli_usage("grades", "unexpected '%s'", p.pos[1]);
    return LAB_OK;
}

static int export_cmd(gradebook *g, const struct grades_args *a)
{
    if (a->csv && a->json)
        return lab_cli_usage("grades", "export writes --csv or --json, not both");
    enum grades_format fmt = a->json ? GRADES_JSON : GRADES_CSV;
    if (!a->out)
        return grades_export(g, a->lab, fmt, stdout, stderr);
    /* To a file: whole or not at all. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return lab_err(LAB_EINTERNAL, NULL, "out of memory");
    int rc = grades_export(g, a->lab, fmt, mem, stderr);
    fclose(mem);
    if (!rc)
        rc = lab_write_atomic(a->out, buf, len);
    free(buf);
    return rc;
}

int cmd_grades(int argc, char **argv)
{
    struct grades_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    const char *what = a.what;
    if (!strcmp(what, "feedback") && !a.out)
        return lab_cli_usage("grades", "feedback needs --out DIR for the pages");
    if (!strcmp(what, "duplicates") && a.out)
        return lab_cli_usage("grades", "duplicates prints its report; --out is for export and feedback");
    if (!strcmp(what, "feedback") && (a.csv || a.json))
        return lab_cli_usage("grades", "feedback writes HTML pages; --csv and --json are for export");
    gradebook *g;
    if ((rc = gradebook_open(a.db, false, &g)))
        return rc;
    if (!strcmp(what, "export")) {
        rc = export_cmd(g, &a);
    } else if (!strcmp(what, "feedback")) {
        size_t pages = 0;
        rc = grades_feedback(g, a.lab, a.out, stderr, &pages);
        if (!rc)
            printf("%zu student page%s and index.html in %s\n", pages, pages == 1 ? "" : "s", a.out);
    } else {
        size_t groups = 0;
        rc = grades_duplicates(g, a.lab, a.json, stdout, &groups);
    }
    gradebook_close(g);
    return rc;
}
