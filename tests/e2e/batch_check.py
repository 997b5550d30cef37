"""Checks the gradebooks tests/e2e/batch.sh makes (sqlite, read while
nothing writes).

usage: batch_check.py expect DB EXPECTED.tsv   every source: one row, its status, what failed
       batch_check.py same DB1 DB2             the same rows, statuses and scores
       batch_check.py bulk DB                  student ids and late days from LMS names
       batch_check.py reeval DB                the reeval variants fail their checks
       batch_check.py count DB                 rows so far (for the kill test)
"""
import sqlite3
import sys


# Every submission is made from one quick run of lenet5 alone: the rubric's
# other models are missing, each a failed integrity.models row that costs
# that model's points; `failed` leaves them out, `lost` is their points.
MISSING = {"alexnet", "vgg11", "resnet18"}


def rows(db):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = {}
    for sid, source, status, detail, score, mx, final, student in c.execute(
            "SELECT id, source, status, coalesce(status_detail, ''), score, max_score, final_score,"
            " coalesce(student, '') FROM submissions"):
        assert source not in out, f"{source}: more than one row"
        failed, missing, lost = [], set(), 0
        for r in c.execute("SELECT check_id, status, message, points, name, max_points FROM check_results"
                           " WHERE submission = ? ORDER BY seq", (sid,)):
            if r[1] in ("pass", "skipped"):
                continue
            if r[0] == "integrity.models":
                assert r[1] == "fail" and r[3] == 0 and r[5] > 0, f"{source}: {r}"
                missing.add(r[4].split(":")[0])
                lost += r[5]
            else:
                failed.append(r[:4])
        if status == "graded":
            assert missing == MISSING, f"{source}: missing {sorted(missing)}"
        out[source] = dict(status=status, detail=detail, score=score, max=mx, final=final, student=student,
                           failed=failed, lost=lost)
    return out


def expect(db, tsv):
    got = rows(db)
    want = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
    assert len(got) == len(want), f"{len(got)} rows for {len(want)} submissions: " + \
        ", ".join(sorted(set(got) ^ {w[0] for w in want}))
    for source, status, what in want:
        r = got.get(source)
        assert r, f"{source}: no row"
        assert r["status"] == status, f"{source}: {r['status']} ({r['detail']}), expected {status}"
        if status != "graded":
            assert r["score"] == 0 and r["final"] == 0, f"{source}: {status} earned {r['score']}"
            text = r["detail"] + " " + " ".join(f[2] for f in r["failed"])
            if what != "-":
                assert what in text, f"{source}: '{what}' not in '{text}'"
        elif what == "-":
            assert r["score"] == r["max"] - r["lost"] > 0 and r["lost"] > 0 and not r["failed"], \
                f"{source}: {r['score']}/{r['max']} less {r['lost']} {r['failed']}"
        else:
            ids = [f[0] for f in r["failed"]]
            assert ids == [what], f"{source}: failed {ids}, expected only {what}"
            assert all(f[3] == 0 for f in r["failed"]) and r["score"] < r["max"] - r["lost"], source
    print(f"{len(want)} submissions as expected")


def same(db1, db2):
    a, b = rows(db1), rows(db2)
    assert set(a) == set(b), sorted(set(a) ^ set(b))
    for s in a:
        ka = (a[s]["status"], a[s]["score"], a[s]["final"], a[s]["student"])
        kb = (b[s]["status"], b[s]["score"], b[s]["final"], b[s]["student"])
        assert ka == kb, f"{s}: {ka} vs {kb}"
    print(f"{len(a)} rows, the same in both")


def bulk(db):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    got = {r[0]: r[1:] for r in c.execute(
        "SELECT source, coalesce(student, ''), lms, lms_user, late_days, late_penalty, status, score, final_score,"
        " coalesce(id_issue, '') FROM submissions")}
    want = {  # source: student, lms, lms user, late days
        "doe_jane_1001_5001_jane-2.2.1.tar.gz": ("jane", "canvas", "1001", 0),
        "roe_rick_LATE_1002_5002_lab.tar.gz": ("rick", "canvas", "1002", 1),
        "moe_max_1003_5003_lab.tar.gz": ("max", "canvas", "1003", 0),
        "nobody_known_1004_5004_lab.tar.gz": ("canvas:1004", "canvas", "1004", 0),
        "Ann Poe_2001_assignsubmission_file_/ann.tar.gz": ("ann", "moodle", "2001", 3),
    }
    assert set(got) == set(want), sorted(set(got) ^ set(want))
    for s, (student, lms, user, late) in want.items():
        g = got[s]
        assert g[:4] == (student, lms, user, late), f"{s}: {g}"
        assert abs(g[4] - 10 * late) < 1e-9, f"{s}: penalty {g[4]}"
        if g[5] == "graded":
            assert abs(g[7] - g[6] * (1 - g[4] / 100)) < 1e-9, f"{s}: final {g[7]} for {g[6]} less {g[4]}%"
        assert g[8] == "", f"{s}: {g[8]}"
    assert got["nobody_known_1004_5004_lab.tar.gz"][5] == "not_gradable"
    print("LMS names, late days and penalties as expected")


def reeval(db):
    got = rows(db)
    assert got["reevalok.tar.gz"]["status"] == "graded" and not got["reevalok.tar.gz"]["failed"], got["reevalok.tar.gz"]
    assert [f[0] for f in got["module-prefix.tar.gz"]["failed"]] == ["reeval.load"], got["module-prefix.tar.gz"]
    assert "reeval.logits" in [f[0] for f in got["tampered-weight.tar.gz"]["failed"]], got["tampered-weight.tar.gz"]
    print("re-evaluation caught both variants")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "count":
        try:
            c = sqlite3.connect(f"file:{sys.argv[2]}?mode=ro", uri=True)
            print(c.execute("SELECT count(*) FROM submissions").fetchone()[0])
        except sqlite3.Error:
            print(0)
    else:
        {"expect": expect, "same": same, "bulk": bulk, "reeval": reeval}[cmd](*sys.argv[2:])
