package dev.loomwork.internal;

import dev.loomwork.internal.Runner.QueueScope;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;

/**
 * The queue's owner: the thread in {@code run()} (or the thread {@code start()} makes), which opens
 * the queue's scope, runs the dispatch loop, and is the only thread that forks attempts.
 *
 * <p>The loop takes up to {@value #BATCH} ready tasks per hold of the lock ({@link
 * QueueState#takeBatch}), then forks their attempts outside it. It ends when the queue stops, or
 * when a draining queue has nothing left; then the owner joins the scope (every attempt thread has
 * ended), closes it, stops the scheduler, and marks the queue terminated.
 *
 * <p><b>Keeping the JVM alive.</b> {@code start()} runs the owner on a virtual thread (a daemon:
 * waking it when work arrives costs no platform thread's park and unpark), and starts
 * beside it a small non-daemon <i>keeper</i> thread that only waits. The keeper keeps the JVM alive
 * while the queue runs, as an executor's threads do, and is released when the queue terminates or
 * when any shutdown method returns. So a shutdown that abandons an attempt which ignores its
 * interruption does not hold the JVM: the owner, still joining that attempt, is a daemon, and so is
 * the attempt's virtual thread.
 */
final class Dispatcher {
  private static final Logger log = Log.LOG;

  /** How many ready tasks the dispatcher takes per turn of the lock. */
  private static final int BATCH = 64;

  private final QueueEngine queue;
  private final CountDownLatch keeper = new CountDownLatch(1);

  Dispatcher(QueueEngine queue) {
    this.queue = queue;
  }

  /** Becomes the owner and runs the owner loop on a new thread. */
  void start() {
    queue.state.becomeOwner();
    startOwner();
  }

  /** Runs the owner loop (the owner already became one) on a new daemon thread, with its keeper. */
  void startOwner() {
    String name = queue.name();
    Thread.ofPlatform().name("loomwork-" + name + "-keeper").stackSize(64 * 1024).start(this::keep);
    // A virtual thread: waking it when a task arrives costs no platform thread's park and unpark.
    Thread.ofVirtual().name("loomwork-" + name + "-dispatcher").start(this::runOwned);
  }

  /** Becomes the owner; the returned loop runs the owner on its caller's thread, once. */
  Runnable becomeOwner() {
    queue.state.becomeOwner();
    return this::runOwned;
  }

  /** Becomes the owner and runs the owner loop on the calling thread until the queue terminates. */
  void run() {
    queue.state.becomeOwner();
    runOwned();
  }

  /** Lets the JVM exit even if the owner is still joining an abandoned attempt. */
  void dismissKeeper() {
    keeper.countDown();
  }

  private void keep() {
    Uninterruptibles.await(() -> { // only dismissKeeper ends the keeper
      keeper.await();
      return true;
    });
  }

  private void runOwned() {
    boolean interrupted = false;
    QueueScope scope = queue.runner.openQueueScope("loomwork-" + queue.name(), queue.threadFactory);
    try {
      try {
        queue.store.start();
        dispatch(scope);
      } catch (InterruptedException e) {
        interrupted = true;
        log.info("queue '{}': run() was interrupted; cancelling all work", queue.name());
        queue.cancelAll();
      } catch (Throwable e) {
        log.error("queue '{}': the dispatcher failed; cancelling all work", queue.name(), e);
        queue.cancelAll();
        throw e;
      } finally {
        // The owner must join before it closes (a structured scope insists). The attempts still in
        // flight were cut if we are stopping, so they end; an interrupt here cuts them too, and
        // close() then interrupts and waits for whatever remains.
        try {
          scope.join();
        } catch (InterruptedException e) {
          interrupted = true;
          queue.cancelAll();
        } finally {
          scope.close();
        }
      }
    } finally {
      queue.store.close(); // every attempt has ended: the store writes what is left
      queue.timers.shutdown();
      queue.publisher.awaitLater();
      queue.state.terminated();
      dismissKeeper();
      queue.publisher.terminated(queue.state.stats());
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void dispatch(QueueScope scope) throws InterruptedException {
    Attempt[] attempts = new Attempt[BATCH];
    int n;
    while ((n = queue.state.takeBatch(queue, attempts)) > 0) {
      for (int i = 0; i < n; i++) {
        fork(scope, attempts[i]);
        attempts[i] = null;
      }
    }
  }

  private void fork(QueueScope scope, Attempt a) {
    try {
      scope.fork(a);
    } catch (Throwable e) {
      // The thread factory refused or failed: that counts as a failed attempt.
      log.error("queue '{}': could not start a thread for task '{}'", queue.name(), a.task.name(), e);
      a.failToStart(e);
    }
  }
}
