#!/usr/bin/env bash
# Builds loomwork, builds the benchmarks, and runs them with JMH on the JDK 25 toolchain.
#
#   benchmarks/run.sh [quick|full] [extra JMH arguments, e.g. a benchmark regex]
#
#   quick  every benchmark once: 1 fork, 1 short warmup and 1 short measurement iteration, at the
#          default concurrency and capacity only (CI; about two minutes on 2 cores, more on a busy machine). The durable
#          store's benchmarks (Durable*) run with fsync off only, backlogs of 2,000 tasks, and the
#          spaced latency only (about 35 s together; each fork starts a PostgreSQL server); the
#          admin's (DurableAdmin, DurableConsoleWorkOff) seed 20,000 ended tasks instead of 1,000,000
#          (about a minute more)
#   full   the settings in the benchmark annotations (the figures of docs/benchmarks.md); the default
#
# Writes JMH's JSON to benchmarks/results/<mode>.json (<mode>-custom.json when extra arguments are
# given, so that a partial run never replaces the published figures). Needs only an installed JDK 25: the Maven
# wrapper fetches Maven, and the toolchains plugin finds the JDK (no JAVA_HOME needed).
set -euo pipefail
mode="${1:-full}"
shift || true
case "$mode" in
  quick) settings="-f 1 -wi 1 -i 1 -w 200ms -r 200ms -p concurrency=1000 -p capacity=10000 -p fsync=off -p tasks=2000 -p pauseMillis=120" ;;
  full) settings="" ;;
  *)
    echo "usage: $0 [quick|full] [JMH arguments...]" >&2
    exit 2
    ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p benchmarks/results
# The library, without its tests (they are not needed to measure it, and Kotlin compiles slowly).
./mvnw -B -q install -Dmaven.test.skip=true
# A run with extra arguments (a subset, other parameters) must not replace the published figures.
out="$mode"
if [ "$#" -gt 0 ]; then
  out="$mode-custom"
fi
# clean: javac skips its step when only a Kotlin benchmark changed, and JMH's harness (generated
# by javac's annotation processor) would then run the old version of it.
./mvnw -B -q -f benchmarks/pom.xml clean package exec:exec \
  -Djmh.args="$settings -foe true -rf json -rff $root/benchmarks/results/$out.json $*"
