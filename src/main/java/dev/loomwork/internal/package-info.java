/**
 * The engine behind the public API: one engine over two stores. Not exported by the module; no
 * compatibility promises.
 *
 * <p><b>One walk.</b> A task enters the books by {@code QueueState#admit}
 * (enqueued here) or {@code QueueState#arrive} (claimed from a durable store),
 * waits in its {@code TaskStore}, is taken by the dispatcher, runs as an
 * {@code Attempt}, is judged by {@code Verdict} and ends
 * in {@code QueueState#endAttempt}. The store decides only the two ends: where
 * tasks come from, and who publishes an end (the memory store at once, the durable store once the
 * end is written).
 *
 * <p><b>Transitions</b> (each made under the queue's lock by the method named):
 *
 * <pre>
 *   NEW ─────────► READY | WAITING   admit
 *   claimed ─────► READY             arrive (durable)
 *   WAITING ─────► READY             MemoryStore's alarm
 *   READY ───────► RUNNING           takeBatch
 *   RUNNING ─────► SUCCEEDED | FAILED | CANCELLED | READY | WAITING     endAttempt
 *   RUNNING ─────► handed back       endAttempt (a durable retry; RELEASED)
 *   READY | WAITING ─► CANCELLED | FAILED   stop, cancelAll
 *   READY ───────► handed back       cancelAll (durable: released), surrenderAll (lost lease)
 * </pre>
 *
 * <p><b>Glossary</b> (one meaning each): <i>store</i>, where a queue's tasks are kept; <i>claim</i>,
 * take tasks from a durable store into this process; <i>arrive</i>, a claimed task filed here;
 * <i>books</i>, state guarded by the queue's lock ({@code QueueBooks}, {@code DurableBooks});
 * <i>cut</i>, end an attempt early; <i>settle</i>, close the race between a body and its cut;
 * <i>end</i>, reach a terminal state; <i>outcome</i>, an attempt's end as the durable store writes
 * it; <i>handed back</i>, leave this process with no end here; <i>release</i>, a handed-back row
 * made ready again with its attempt given back; <i>surrender</i>, hand back everything (a lost
 * lease); <i>publish</i>, announce outside the lock; <i>outage</i>, a time in which some store loop
 * fails. The repository's {@code docs/ARCHITECTURE.md} has the full tables.
 */
@NullMarked
package dev.loomwork.internal;

import org.jspecify.annotations.NullMarked;
