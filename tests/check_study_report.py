"""Is a report that ``enginepools study`` wrote complete?  CI runs this on
the report of the README's first command (``python tests/check_study_report.py
enginepools-report``); it prints each problem and exits 1 if there is one.

Complete means: the five documents, every file the report's manifest lists,
each image a non-empty PNG, the raw results of every measuring phase kept
beside the documents (no phase skipped), no staging directory left beside the report, and
every percentage and ratio of the documents recomputing from its operands
(:mod:`report_consistency`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report_consistency  # noqa: E402

DOCUMENTS = ("README.md", "benchmark-results-summary.md", "pprof-results-analysis.md",
             "visual-performance-summary.md", "profiling-analysis-findings.md")
RAW = ("bench.txt", "bench.json", "plain-heap.pb.gz", "pooled-heap.pb.gz", "plain-cpu.pb.gz", "pipeline-ab.json")
MANIFEST = ".enginepools-report.json"
PNG = b"\x89PNG\r\n\x1a\n"


def problems(report: Path) -> list[str]:
    if not report.is_dir():
        return [f"{report}: no report directory"]
    found = [f"{report}/{n}: missing" for n in (*DOCUMENTS, *RAW, MANIFEST) if not (report / n).is_file()]
    if (report / MANIFEST).is_file():
        listed = json.loads((report / MANIFEST).read_text(encoding="utf-8"))["files"]
        found += [f"{report}/{n}: in the manifest but missing" for n in listed if not (report / n).is_file()]
        for n in listed:
            p = report / n
            if n.endswith(".png") and p.is_file() and not p.read_bytes().startswith(PNG):
                found.append(f"{p}: not a PNG image")
        if not any(n.endswith(".png") for n in listed):
            found.append(f"{report}: no figure in the manifest")
    for doc in DOCUMENTS:  # a phase the study skipped is named in the documents
        p = report / doc
        if p.is_file() and "study phase '" in p.read_text(encoding="utf-8"):
            found.append(f"{p}: names a skipped study phase")
    found += [f"{report.parent}/{p.name}: staging directory left behind"
              for p in report.parent.glob(f"{report.name}.partial-*")]
    found += report_consistency.check_report(report)
    return found


def main(argv: list[str]) -> int:
    report = Path(argv[1] if len(argv) > 1 else "enginepools-report")
    bad = problems(report)
    for line in bad:
        print(line)
    if not bad:
        n = len(list(report.iterdir()))
        print(f"{report}: complete ({n} files)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
