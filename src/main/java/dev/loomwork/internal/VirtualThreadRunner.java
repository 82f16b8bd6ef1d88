package dev.loomwork.internal;

import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The fallback runner, for JVMs where {@code StructuredTaskScope} cannot load. Same semantics as
 * {@link StructuredRunner}: every attempt runs on its own thread from the queue's factory, the body
 * runs on that thread (so interrupting it interrupts the body), and the queue scope tracks the threads
 * so that closing it interrupts the stragglers and waits for them.
 */
final class VirtualThreadRunner implements Runner {

  @Override
  public String name() {
    return "virtual";
  }

  @Override
  public QueueScope openQueueScope(String name, ThreadFactory threadFactory) {
    return new ThreadSet(threadFactory);
  }

  @Override
  public <T extends @Nullable Object> T runAttempt(ThreadFactory threadFactory, Callable<T> body)
      throws Exception {
    return body.call();
  }

  /** The live attempt threads of one queue; {@code join} waits for the set to empty. */
  private static final class ThreadSet implements QueueScope {
    private final ThreadFactory factory;
    private final Set<Thread> live = ConcurrentHashMap.newKeySet();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition empty = lock.newCondition();

    ThreadSet(ThreadFactory factory) {
      this.factory = factory;
    }

    @Override
    public void fork(Runnable attempt) {
      Thread thread =
          factory.newThread(
              () -> {
                try {
                  attempt.run();
                } finally {
                  exited(Thread.currentThread());
                }
              });
      if (thread == null) {
        throw new RejectedExecutionException("Rejected by thread factory");
      }
      live.add(thread);
      try {
        thread.start();
      } catch (RuntimeException | Error e) {
        exited(thread);
        throw e;
      }
    }

    private void exited(Thread thread) {
      live.remove(thread);
      if (live.isEmpty()) {
        lock.lock();
        try {
          empty.signalAll();
        } finally {
          lock.unlock();
        }
      }
    }

    @Override
    public void join() throws InterruptedException {
      lock.lock();
      try {
        while (!live.isEmpty()) {
          empty.await();
        }
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() {
      for (Thread thread : live) {
        thread.interrupt();
      }
      boolean interrupted = false;
      lock.lock();
      try {
        while (!live.isEmpty()) {
          try {
            empty.await();
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
      } finally {
        lock.unlock();
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
