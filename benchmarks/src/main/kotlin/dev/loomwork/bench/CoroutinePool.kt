package dev.loomwork.bench

import java.time.Duration
import java.util.concurrent.ExecutorService
import java.util.function.Consumer
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

/**
 * The kotlinx.coroutines peer: a worker pool as a Kotlin service would write it. Tasks go into an
 * unlimited [Channel]; `workers` coroutines each take the next task, run it, and retry a failed
 * attempt in place after `delay(backoff)` (the coroutine suspends: a waiting retry holds its worker
 * but no thread), up to `retries` times. The number of workers is the limit in flight.
 *
 * [onDefault] runs the workers on `Dispatchers.Default` (as many threads as cores), for bodies that
 * do not block; [onExecutor] on a dispatcher over an executor, for the benchmarks a virtual thread
 * per task executor, for bodies that block their thread (`Thread.sleep`): each resumption of a
 * worker runs on a new virtual thread, which a blocking body parks instead of a dispatcher thread.
 * (The caller owns that executor and closes it after the pool.)
 *
 * Java submits with [submit], which never suspends (`trySend` on an unlimited channel).
 */
class CoroutinePool private constructor(
    workers: Int,
    dispatcher: CoroutineDispatcher,
    private val retries: Int,
    backoff: Duration,
) : AutoCloseable {

  /** One attempt of a task's body; an exception fails the attempt. */
  fun interface Attempt {
    @Throws(Exception::class) fun run()
  }

  private class Item(val attempt: Attempt, val gaveUp: Consumer<Throwable>)

  private val backoffMillis = backoff.toMillis()
  private val channel = Channel<Item>(Channel.UNLIMITED)
  private val scope = CoroutineScope(SupervisorJob() + dispatcher)
  private val workerJobs = List(workers) { scope.launch { for (item in channel) runTask(item) } }

  /** Queues a task; [gaveUp] is told if its retries run out. */
  fun submit(attempt: Attempt, gaveUp: Consumer<Throwable>) {
    channel.trySend(Item(attempt, gaveUp)).getOrThrow()
  }

  private suspend fun runTask(item: Item) {
    var attempt = 1
    while (true) {
      try {
        item.attempt.run()
        return
      } catch (e: CancellationException) {
        throw e
      } catch (e: Exception) {
        if (attempt > retries) {
          item.gaveUp.accept(e)
          return
        }
        attempt++
        delay(backoffMillis)
      }
    }
  }

  /** Lets the workers finish what is queued, then stops them (30 s at most). */
  override fun close() {
    channel.close()
    try {
      runBlocking { withTimeout(30_000) { workerJobs.joinAll() } }
    } finally {
      scope.cancel()
    }
  }

  companion object {
    @JvmStatic
    fun onDefault(workers: Int, retries: Int, backoff: Duration): CoroutinePool =
        CoroutinePool(workers, Dispatchers.Default, retries, backoff)

    @JvmStatic
    fun onExecutor(
        workers: Int,
        retries: Int,
        backoff: Duration,
        executor: ExecutorService,
    ): CoroutinePool = CoroutinePool(workers, executor.asCoroutineDispatcher(), retries, backoff)
  }
}
