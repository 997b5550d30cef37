"""Makes the batches tests/e2e/batch.sh grades, from one real submission
unpacked in BASE (a quick run of 2.2.1 packed by `lab submit`):

  OUT/in/         N valid archives (each its own student), a folder
                  submission, every broken variant of the grader's tests,
                  hostile archives (zip-slip, absolute path, symlink, bomb,
                  100,000 files, duplicate paths), a folder with a link out,
                  three copies the fault switch will crash / time out / OOM,
                  and a stray README (ignored)
  OUT/expected.tsv  source, status, what must fail ("-" = full marks)
  OUT/reeval/     a valid submission and the two variants only --reeval sees
  OUT/bulk.zip    an LMS bulk download: Canvas and Moodle names, a late one,
                  one without a student id in submission.json

usage: batch_make.py BASE OUT N_VALID ESCAPE_DIR
ESCAPE_DIR is where hostile paths would land if they were ever unpacked.
"""
import calendar
import io
import json
import os
import shutil
import sys
import tarfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import submission_variant as sv  # noqa: E402

BASE, OUT, N_VALID, ESCAPE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
IN = os.path.join(OUT, "in")
expected = []


def copy_base(dst, student=None):
    shutil.copytree(BASE, dst)
    if student is not None:
        sv.edit_json(os.path.join(dst, "submission.json"),
                     lambda s: s.update(student=student) if student else s.pop("student"))
        sv.write_manifest(dst)


def pack(src, archive, mtime=None):
    with tarfile.open(archive, "w:gz", compresslevel=1) as t:
        for name in sorted(os.listdir(src)):
            t.add(os.path.join(src, name), arcname=name)
    if mtime:
        os.utime(archive, (mtime, mtime))


def work(name):
    d = os.path.join(OUT, "work", name)
    if os.path.exists(d):
        shutil.rmtree(d)
    return d


os.makedirs(IN)
# Valid submissions, each with its own student id.
for i in range(N_VALID):
    d = work("v")
    copy_base(d, f"student{i:03d}")
    pack(d, os.path.join(IN, f"student{i:03d}.tar.gz"))
    expected.append((f"student{i:03d}.tar.gz", "graded", "-"))
d = os.path.join(IN, "folder-sub")
copy_base(d, "folderstudent")
expected.append(("folder-sub", "graded", "-"))

# The grader's broken variants: each fails its one check, or is not gradable.
for v, want in [("wrong-norm", "norm.config"), ("raw-inputs", "norm.inputs"), ("inflated", "honesty.accuracy"),
                ("nan", "values.finite"), ("transposed", "shape.logits"),
                ("corrupt-manifest", "integrity.checksums")]:
    d = work(v)
    copy_base(d, f"variant-{v}")
    sv.variant(d, v)
    pack(d, os.path.join(IN, f"variant-{v}.tar.gz"))
    expected.append((f"variant-{v}.tar.gz", "graded", want))
for v, why in [("no-manifest", "MANIFEST"), ("bad-json", "metrics.json"), ("absurd-shape", "predictions")]:
    d = work(v)
    copy_base(d, f"variant-{v}")
    sv.variant(d, v)
    pack(d, os.path.join(IN, f"variant-{v}.tar.gz"))
    expected.append((f"variant-{v}.tar.gz", "not_gradable", why))
# Without --reeval these two grade fully; the reeval batch catches them.
for v in ("module-prefix", "tampered-weight"):
    d = work(v)
    copy_base(d, f"variant-{v}")
    sv.variant(d, v)
    pack(d, os.path.join(IN, f"variant-{v}.tar.gz"))
    expected.append((f"variant-{v}.tar.gz", "graded", "-"))

# Grading faults, injected by LAB_TEST_GRADE_FAULT in the grading child.
for f in ("crash", "timeout", "oom"):
    d = work(f)
    copy_base(d, f"fault{f}")
    pack(d, os.path.join(IN, f"fault-{f}.tar.gz"))
    expected.append((f"fault-{f}.tar.gz", f, "-"))


# Hostile archives.
def tar_with(path, members, fmt="w:gz"):
    with tarfile.open(path, fmt) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)


def reg(name, data):
    i = tarfile.TarInfo(name)
    i.size = len(data)
    i.mtime = int(time.time())
    return i, data


sub_json = open(os.path.join(BASE, "submission.json"), "rb").read()
with zipfile.ZipFile(os.path.join(IN, "zipslip.zip"), "w") as z:
    z.writestr("submission.json", sub_json)
    z.writestr("../../../../../../../../" + ESCAPE.lstrip("/") + "/escaped-zipslip.txt", b"gotcha")
expected.append(("zipslip.zip", "not_gradable", "'..'"))
tar_with(os.path.join(IN, "absolute.tar.gz"), [reg("submission.json", sub_json),
                                               reg(os.path.join(ESCAPE, "escaped-absolute.txt"), b"gotcha")])
expected.append(("absolute.tar.gz", "not_gradable", "absolute path"))
link = tarfile.TarInfo("plots")
link.type, link.linkname = tarfile.SYMTYPE, ESCAPE
tar_with(os.path.join(IN, "symlink.tar.gz"), [reg("submission.json", sub_json), (link, None),
                                              reg("plots/escaped-symlink.txt", b"gotcha")])
expected.append(("symlink.tar.gz", "not_gradable", "symbolic link"))
zeros = tarfile.TarInfo("zeros.bin")
zeros.size = 128 << 20
with tarfile.open(os.path.join(IN, "bomb.tar.gz"), "w:gz", compresslevel=9) as t:
    t.addfile(reg("submission.json", sub_json)[0], io.BytesIO(sub_json))
    t.addfile(zeros, io.BytesIO(bytes(zeros.size)))
expected.append(("bomb.tar.gz", "not_gradable", "compression ratio"))
with tarfile.open(os.path.join(IN, "many-files.tar.gz"), "w:gz", compresslevel=1) as t:
    for k in range(100000):
        t.addfile(tarfile.TarInfo(f"f/{k:06d}"), io.BytesIO(b""))
expected.append(("many-files.tar.gz", "not_gradable", "too many entries"))
with zipfile.ZipFile(os.path.join(IN, "duplicate.zip"), "w") as z:
    z.writestr("submission.json", sub_json)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z.writestr("submission.json", b"{}")
expected.append(("duplicate.zip", "not_gradable", "duplicate path"))
d = os.path.join(IN, "linkdir")
copy_base(d, "linkdir")
os.symlink(os.path.join(ESCAPE, "outside.png"), os.path.join(d, "plots", "outside.png"))
expected.append(("linkdir", "not_gradable", "symbolic link"))
open(os.path.join(IN, "README.txt"), "w").write("not a submission\n")

with open(os.path.join(OUT, "expected.tsv"), "w") as f:
    for row in expected:
        f.write("\t".join(row) + "\n")

# The --reeval batch.
R = os.path.join(OUT, "reeval")
os.makedirs(R)
d = work("r-valid")
copy_base(d, "reevalok")
pack(d, os.path.join(R, "reevalok.tar.gz"))
for v in ("module-prefix", "tampered-weight"):
    d = work("r-" + v)
    copy_base(d, f"reeval-{v}")
    sv.variant(d, v)
    pack(d, os.path.join(R, f"{v}.tar.gz"))

# An LMS bulk download (zip entry times are local times; batch.sh sets TZ=UTC).
DUE = calendar.timegm((2026, 1, 10, 12, 0, 0))


def entry(z, name, path, when):
    info = zipfile.ZipInfo(name, time.gmtime(when)[:6])
    info.compress_type = zipfile.ZIP_STORED
    z.writestr(info, open(path, "rb").read())


with zipfile.ZipFile(os.path.join(OUT, "bulk.zip"), "w") as z:
    for name, student, when in [("doe_jane_1001_5001_jane-2.2.1.tar.gz", "jane", DUE - 3600),
                                ("roe_rick_LATE_1002_5002_lab.tar.gz", "rick", DUE + 3600),
                                ("moe_max_1003_5003_lab.tar.gz", "max", DUE + 5 * 86400),  # Canvas: not late
                                ("nobody_known_1004_5004_lab.tar.gz", "", DUE - 60),
                                ("Ann Poe_2001_assignsubmission_file_/ann.tar.gz", "ann", DUE + 2 * 86400 + 3600)]:
        d = work("bulk")
        copy_base(d, student)
        pack(d, os.path.join(OUT, "work", "bulk.tar.gz"))
        entry(z, name, os.path.join(OUT, "work", "bulk.tar.gz"), when)
shutil.rmtree(os.path.join(OUT, "work"))
print(f"{len(expected)} submissions, {len(os.listdir(IN))} entries")
