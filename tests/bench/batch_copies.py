"""N valid submissions from one unpacked submission, each with its own
student id (submission.json edited, MANIFEST.sha256 rewritten), packed as
<prefix>NNNN.tar.gz, for scripts/bench/batch.sh.

usage: batch_copies.py BASE OUT N PREFIX
"""
import os
import shutil
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import submission_variant as sv  # noqa: E402

base, out, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)
work = os.path.join(out, ".work")
for i in range(n):
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    sv.edit_json(os.path.join(work, "submission.json"), lambda s: s.update(student=f"{prefix}{i:04d}"))
    sv.write_manifest(work)
    with tarfile.open(os.path.join(out, f"{prefix}{i:04d}.tar.gz"), "w:gz", compresslevel=1) as t:
        for name in sorted(os.listdir(work)):
            t.add(os.path.join(work, name), arcname=name)
shutil.rmtree(work, ignore_errors=True)
