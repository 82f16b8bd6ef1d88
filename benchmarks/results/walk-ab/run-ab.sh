#!/usr/bin/env bash
# A/B of the walk branch against main at 9055351: same benchmark classes, the loomwork jar swapped.
set -euo pipefail
cd /work/wt-walk
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
CP_WALK=$(cat /tmp/walk-cp.txt):/tmp/walk-head/benchmarks/target/classes
CP_BASE=$(echo "$CP_WALK" | sed "s|/work/m2-walk/dev/loomwork/|/work/m2-walk-base/dev/loomwork/|g")
MEM='-f 1 -wi 2 -i 3 -w 1s -r 1s -p concurrency=1000 -p capacity=10000 -p scope=shared'
DUR='-f 1 -wi 1 -i 3 -w 2s -r 2s -p fsync=off -p tasks=20000 -p pauseMillis=120'
mkdir -p /tmp/walk-ab
run() { # label cp round
  local label=$1 cp=$2 round=$3
  $JAVA --sun-misc-unsafe-memory-access=allow -classpath "$cp" org.openjdk.jmh.Main \
    'Loomwork(Structured|Fallback)\.(noop|io|retryHalfOnce)$' $MEM -foe true -rf json -rff /tmp/walk-ab/mem-$label-$round.json > /tmp/walk-ab/mem-$label-$round.log 2>&1
  $JAVA --sun-misc-unsafe-memory-access=allow -classpath "$cp" org.openjdk.jmh.Main \
    'Durable(WorkOff\.workOff_loomwork|Enqueue\..*_loomwork|Latency\.latency_toStart_loomwork)$' $DUR -foe true -rf json -rff /tmp/walk-ab/dur-$label-$round.json > /tmp/walk-ab/dur-$label-$round.log 2>&1
}
echo "round 1 base $(date +%T)"; run base "$CP_BASE" 1
echo "round 1 walk $(date +%T)"; run walk "$CP_WALK" 1
echo "round 2 walk $(date +%T)"; run walk "$CP_WALK" 2
echo "round 2 base $(date +%T)"; run base "$CP_BASE" 2
echo "done $(date +%T)"
