package dev.loomwork.bench;

import org.openjdk.jmh.annotations.Fork;

/** {@link TimerLateness} of loomwork with the fallback runner: forks run without {@code --enable-preview}. */
@Fork(
    value = 1,
    jvmArgs = {
      "--sun-misc-unsafe-memory-access=allow",
      "-Dbench.runner=virtual",
      "-Xms2g",
      "-Xmx2g",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
    })
public class TimerLatenessFallback extends TimerLatenessLoomwork {}
