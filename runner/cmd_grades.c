/* `lab grades export|feedback|duplicates`: what instructors take out of the
 * gradebook that `lab grade --batch` wrote. */
#include "base/error.h"
#include "base/fsutil.h"
#include "grader/grades.h"
#include "runner/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_DB = 256, O_LAB, O_CSV, O_JSON, O_OUT };

static const struct option longopts[] = {
    {"db", required_argument, NULL, O_DB},   {"lab", required_argument, NULL, O_LAB},
    {"csv", no_argument, NULL, O_CSV},       {"json", no_argument, NULL, O_JSON},
    {"out", required_argument, NULL, O_OUT}, {NULL, 0, NULL, 0},
};

struct grades_args {
    const char *db, *lab, *out;
    int csv, json;
};

static int parse(int argc, char **argv, struct grades_args *a)
{
    memset(a, 0, sizeof *a);
    a->db = "gradebook.sqlite";
    int c;
    /* argv[0] is the subcommand: getopt starts after it. */
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case O_DB:
            a->db = optarg;
            break;
        case O_LAB:
            a->lab = optarg;
            break;
        case O_CSV:
            a->csv = 1;
            break;
        case O_JSON:
            a->json = 1;
            break;
        case O_OUT:
        case 'o':
            a->out = optarg;
            break;
        default:
            return lab_cli_bad_option("grades", argv);
        }
    }
    if (optind < argc)
        return lab_cli_usage("grades", "unexpected '%s'", argv[optind]);
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
    if (argc < 2)
        return lab_cli_usage("grades", "say what to do: export, feedback or duplicates");
    const char *what = argv[1];
    if (strcmp(what, "export") && strcmp(what, "feedback") && strcmp(what, "duplicates"))
        return lab_cli_usage("grades", "'%s' is not one of export, feedback, duplicates", what);
    struct grades_args a;
    int rc = parse(argc - 1, argv + 1, &a);
    if (rc)
        return rc;
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
