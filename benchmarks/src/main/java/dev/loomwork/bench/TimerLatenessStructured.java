package dev.loomwork.bench;

import org.openjdk.jmh.annotations.Fork;

/** {@link TimerLateness} of loomwork with the structured runner: forks run with {@code --enable-preview}. */
@Fork(
    value = 1,
    jvmArgs = {
      "--enable-preview",
      "--sun-misc-unsafe-memory-access=allow",
      "-Dbench.runner=structured",
      "-Xms2g",
      "-Xmx2g",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"
    })
public class TimerLatenessStructured extends TimerLatenessLoomwork {}
