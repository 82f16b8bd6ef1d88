package dev.loomwork.postgres

import dev.loomwork.postgres.PostgresTypes.NewTask
import dev.loomwork.internal.DurableBackend.Outcome
import dev.loomwork.postgres.PostgresTypes.State
import io.kotest.property.Arb
import io.kotest.property.PropTestConfig
import io.kotest.property.arbitrary.constant
import io.kotest.property.arbitrary.long
import io.kotest.property.checkAll
import java.time.Duration
import java.util.Random
import javax.sql.DataSource
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.extension.ExtendWith

/**
 * The store's SQL against a model, driven by random sequences of enqueues, claims, completions
 * (success, failure, retry, cancel), cancels, releases and killed workers (lease expired, then
 * rescued), with two workers. After every operation each task's row must match the model: state,
 * attempt, owner. A failure names its seed; replay it with `-Dloomwork.prop.seed=SEED`.
 */
@ExtendWith(PostgresExtension::class)
class PostgresModelPropertyTest(private val ds: DataSource) {
  private val iterations = System.getProperty("loomwork.prop.pgIterations")?.toInt() ?: 15
  private val replay = System.getProperty("loomwork.prop.seed")?.toLong()
  private val tasks = PostgresTasks(ds)
  private val lease = Duration.ofMinutes(10)

  private class ModelTask(val id: Long, val maxAttempts: Int) {
    var state = State.READY
    var attempt = 0
    var owner: Long? = null
    var cancelRequested = false
  }

  @Test
  fun randomSequencesKeepTheRowsAsTheModelSays() = runBlocking {
    val seeds = if (replay != null) Arb.constant(replay) else Arb.long()
    var operations = 0
    checkAll(PropTestConfig(iterations = if (replay != null) 1 else iterations), seeds) { seed ->
      operations += runSequence(seed)
    }
    println("PostgresModelPropertyTest: $operations operations")
    assertTrue(operations > 0)
  }

  private fun runSequence(seed: Long): Int {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker")
    val random = Random(seed)
    val model = LinkedHashMap<Long, ModelTask>()
    val workers = mutableListOf(tasks.register("m", lease), tasks.register("m", lease))
    val steps = 30 + random.nextInt(30)
    for (step in 0 until steps) {
      val what = random.nextInt(100)
      val context = "seed $seed, step $step"
      when {
        what < 25 -> {
          val max = 1 + random.nextInt(3)
          val id = tasks.enqueue(NewTask.of("m", "h", "{}").maxAttempts(max)).id()
          model[id] = ModelTask(id, max)
        }
        what < 45 -> {
          val w = random.nextInt(2)
          val n = 1 + random.nextInt(3)
          val claim = tasks.claim("m", listOf("h"), workers[w], n)
          assertTrue(claim.leaseLive(), context)
          val ready = model.values.filter { it.state == State.READY }
          assertEquals(minOf(n, ready.size), claim.tasks().size, "claims never more than asked, all it can; $context")
          for (c in claim.tasks()) {
            val t = model.getValue(c.id())
            assertEquals(State.READY, t.state, "only ready tasks are claimed; $context")
            t.state = State.RUNNING
            t.attempt++
            t.owner = workers[w]
            assertEquals(t.attempt, c.attempt(), context)
          }
        }
        what < 70 -> {
          val running = model.values.filter { it.state == State.RUNNING }
          if (running.isNotEmpty()) {
            val t = running[random.nextInt(running.size)]
            // Sometimes the outcome comes from the wrong worker (one that lost the task): fenced.
            val stale = random.nextInt(5) == 0
            val w = if (stale) workers.first { it != t.owner } else t.owner!!
            val kind = random.nextInt(4)
            val outcome =
                when {
                  kind == 0 -> Outcome.succeeded(t.id, t.attempt)
                  kind == 1 || t.attempt >= t.maxAttempts -> Outcome.failed(t.id, t.attempt, null)
                  kind == 2 -> Outcome.retry(t.id, t.attempt, Duration.ZERO, null)
                  else -> Outcome.cancelled(t.id, t.attempt, null)
                }
            val done = tasks.complete(w, listOf(outcome))
            if (stale) {
              assertEquals(1, done.fencedOut().size, "an outcome of a worker that lost the task is fenced; $context")
            } else {
              assertEquals(1, done.applied().size, context)
              t.owner = null
              t.state = if (t.cancelRequested) State.CANCELLED else PostgresTypes.state(outcome.ending())
            }
          }
        }
        what < 80 -> {
          val live = model.values.filter { it.state == State.READY || it.state == State.RUNNING }
          if (live.isNotEmpty()) {
            val t = live[random.nextInt(live.size)]
            tasks.cancel(t.id)
            if (t.state == State.READY) t.state = State.CANCELLED else t.cancelRequested = true
          }
        }
        what < 88 -> {
          val running = model.values.filter { it.state == State.RUNNING }
          if (running.isNotEmpty()) {
            val t = running[random.nextInt(running.size)]
            tasks.release(t.owner!!, listOf(t.id))
            t.owner = null
            if (t.cancelRequested) {
              t.state = State.CANCELLED
            } else {
              t.state = State.READY
              t.attempt--
            }
          }
        }
        else -> {
          val w = random.nextInt(2)
          val dead = workers[w]
          Sql.exec(ds, "UPDATE loomwork_worker SET expires_at = now() - interval '1 second' WHERE id = ?", dead)
          val rescue = tasks.rescue().orElseThrow()
          assertEquals(listOf(dead), rescue.expiredWorkers().map { it.id() }, context)
          for (t in model.values.filter { it.owner == dead }) {
            t.owner = null
            t.state =
                when {
                  t.cancelRequested -> State.CANCELLED
                  t.attempt < t.maxAttempts -> State.READY
                  else -> State.FAILED
                }
          }
          assertTrue(tasks.claim("m", listOf("h"), dead, 1).tasks().isEmpty(), "a dead worker claims nothing; $context")
          workers[w] = tasks.register("m", lease)
        }
      }
      check(model, context)
    }
    return steps
  }

  /** Every row against the model, read in one query. */
  private fun check(model: Map<Long, ModelTask>, context: String) {
    val rows = HashMap<Long, Triple<String, Int, Long?>>()
    ds.connection.use { c ->
      c.createStatement().use { s ->
        s.executeQuery("SELECT id, state, attempt, owner FROM loomwork_task").use { r ->
          while (r.next()) {
            val owner = r.getLong(4).takeUnless { r.wasNull() }
            rows[r.getLong(1)] = Triple(r.getString(2), r.getInt(3), owner)
          }
        }
      }
    }
    assertEquals(model.keys, rows.keys, "the same tasks; $context")
    for (t in model.values) {
      val (state, attempt, owner) = rows.getValue(t.id)
      assertEquals(t.state, State.of(state), "task ${t.id} state; $context")
      assertEquals(t.attempt, attempt, "task ${t.id} attempt; $context")
      assertEquals(t.owner, owner, "task ${t.id} owner; $context")
    }
  }
}
