package dev.loomwork.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loggers of the engine, named after the public class users configure: {@link #LOG} for the
 * queue's own life (runner, shutdown, drain progress, faults of listeners and registries), and its
 * child {@link #TASKS} for per-task events (a task failed, was retried, cancelled or abandoned),
 * which can be set to another level or sent elsewhere on their own.
 */
final class Log {
  static final Logger LOG = LoggerFactory.getLogger("dev.loomwork.WorkQueue");
  static final Logger TASKS = LoggerFactory.getLogger("dev.loomwork.WorkQueue.tasks");

  private Log() {}
}
