#!/bin/sh
# Mutation testing of the statistics, decision and report-number code
# (analysis/stats.py, paired.py, compare.py, verdict.py, decision.py;
# report/fmt.py) with mutmut 3.  Not part of CI.  See docs/testing.md.
#
#   pip install -e '.[test,mutation]'
#   sh tools/mutation.sh                              # every module, one after the other
#   sh tools/mutation.sh enginepools.analysis.paired  # one module
#   mutmut show MUTANT                                # the diff of one survivor
#
# Configuration ([tool.mutmut] in pyproject.toml): which files are mutated and
# which test files may run against a mutant; of those, mutmut runs only the
# tests that executed the mutated function.  Modules run one at a time so a
# run stays short on a shared 2-core machine (JOBS=2 children).  mutmut works
# in ./mutants/ (a copy of the sources; delete it to start afresh).
set -eu
cd "$(dirname "$0")/.."
MODULES="${*:-enginepools.report.fmt enginepools.analysis.paired enginepools.analysis.verdict enginepools.analysis.stats enginepools.analysis.decision enginepools.analysis.compare}"
for m in $MODULES; do
    echo "mutation: $m" >&2
    mutmut run --max-children "${JOBS:-2}" "$m*" >/dev/null 2>&1 || true
done
mutmut results --all true > mutants/results.txt 2>&1 || true
python3 tools/mutation_score.py mutants/results.txt
