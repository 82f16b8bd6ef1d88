package dev.loomwork.admin;

/** Where a queue's tasks live, which decides what an admin can do with them. */
public enum QueueKind {
  /**
   * In this process's memory ({@link MemoryAdmin}): pending and running tasks only, ended ones are
   * not kept; read-only.
   */
  MEMORY,
  /**
   * In a durable store ({@link StoreAdmin}): every task until its retention ends, with its attempts;
   * retry, cancel, delete, pause.
   */
  DURABLE
}
