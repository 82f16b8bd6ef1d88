/**
 * Operating queues: list and search tasks, read a task with every attempt, retry, cancel, delete,
 * pause and resume a queue, and see the live workers.
 *
 * <p>Two admins share one shape. {@link dev.loomwork.admin.StoreAdmin}, from {@code
 * PostgresStore.admin()}, reads and changes the tasks of a durable store, whatever process runs
 * them. {@link dev.loomwork.admin.MemoryAdmin} is a read-only view of the in-memory queues an
 * application registers with it. Both answer {@link dev.loomwork.admin.QueueAdmin}'s questions in
 * the same value types ({@link dev.loomwork.admin.QueueOverview}, {@link
 * dev.loomwork.admin.TaskSummary}, {@link dev.loomwork.admin.TaskPage}, {@link
 * dev.loomwork.admin.TaskDetail}), so a console shows memory and durable queues alike.
 *
 * <p>Every type here is immutable or thread-safe, as its javadoc says.
 */
@NullMarked
package dev.loomwork.admin;

import org.jspecify.annotations.NullMarked;
