package dev.loomwork.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one logger of the engine, named after the public class users configure. */
final class Log {
  static final Logger LOG = LoggerFactory.getLogger("dev.loomwork.WorkQueue");

  private Log() {}
}
