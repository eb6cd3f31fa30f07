#!/bin/sh
# Mutation testing of the statistics, decision and report-number code
# (analysis/stats.py, paired.py, compare.py, verdict.py; report/fmt.py) with
# mutmut 3.  Not part of CI: ~10-30 min on 2 cores.  See docs/testing.md.
#
#   pip install -e '.[test,mutation]'
#   sh tools/mutation.sh            # run, then print the score and the survivors
#   mutmut show MUTANT              # the diff of one survivor
#
# Configuration ([tool.mutmut] in pyproject.toml): which files are mutated and
# which test files run against each mutant.  mutmut works in ./mutants/ (a
# copy of the sources; delete it to start afresh).
set -eu
cd "$(dirname "$0")/.."
mutmut run --max-children "${JOBS:-2}" >/dev/null 2>&1 || true
mutmut results --all true > mutants/results.txt 2>&1 || true
python3 tools/mutation_score.py mutants/results.txt
