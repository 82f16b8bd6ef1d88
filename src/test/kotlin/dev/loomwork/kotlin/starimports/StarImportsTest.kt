package dev.loomwork.kotlin.starimports

// Issue 13, point 8: a Kotlin file that star-imports loomwork, its Kotlin API and kotlinx.coroutines
// together, as a service's files do. dev.loomwork.Job and kotlinx.coroutines.Job are both in scope;
// this file compiles because it names neither ambiguously: LoomworkJob is loomwork's, and a coroutine
// job is declared through an explicit import alias.
import dev.loomwork.*
import dev.loomwork.kotlin.*
import kotlinx.coroutines.*
import kotlinx.coroutines.Job as CoroutineJob
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class StarImportsTest {
  @Test
  fun bothJobsCanBeNamedUnderStarImports(): Unit = runBlocking {
    val answer: LoomworkJob<Int> = LoomworkJob { ctx -> 40 + ctx.attempt() + 1 }
    val queue = workQueue("star-imports")
    val owner: CoroutineJob = queue.launchIn(this)
    val task: Task<Int> = queue.enqueue(Task.ofJob(answer))
    assertEquals(42, task.awaitSuspending())
    queue.shutdownSuspending()
    owner.join()
  }
}
