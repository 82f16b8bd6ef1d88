#!/usr/bin/env bash
# A/B of loomwork's jar at two commits: the same benchmark classes (built against the newer jar),
# only the library jar swapped, alternated base, new, new, base. build.sh makes the two private
# Maven repositories and the class path first.
set -euo pipefail
cd /work/ab
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
CP_NEW=$(cat cp-new.txt):/work/ab/new/benchmarks/target/classes
CP_BASE=$(echo "$CP_NEW" | sed "s|/work/ab/m2-new/dev/loomwork/|/work/ab/m2-base/dev/loomwork/|g")
MEM='-f 1 -wi 2 -i 3 -w 1s -r 1s -p concurrency=1000 -p capacity=10000 -p scope=shared'
DUR='-f 1 -wi 1 -i 3 -w 2s -r 2s -p fsync=off -p tasks=20000 -p pauseMillis=120'
mkdir -p out
run() { # label cp round
  local label=$1 cp=$2 round=$3
  $JAVA --sun-misc-unsafe-memory-access=allow -classpath "$cp" org.openjdk.jmh.Main \
    'Loomwork(Structured|Fallback)\.(noop|io|retryHalfOnce)$' $MEM -foe true -rf json -rff out/mem-$label-$round.json > out/mem-$label-$round.log 2>&1
  $JAVA --sun-misc-unsafe-memory-access=allow -classpath "$cp" org.openjdk.jmh.Main \
    'Durable(WorkOff\.workOff_loomwork|Enqueue\..*_loomwork|Latency\.latency_toStart_loomwork)$' $DUR -foe true -rf json -rff out/dur-$label-$round.json > out/dur-$label-$round.log 2>&1
}
echo "round 1 base $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; run base "$CP_BASE" 1
echo "round 1 new $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; run new "$CP_NEW" 1
echo "round 2 new $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; run new "$CP_NEW" 2
echo "round 2 base $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; run base "$CP_BASE" 2
echo "done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
