package dev.loomwork.bench;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.IterationParams;

/**
 * The producer's batch of one iteration of an enqueue-while-draining benchmark, shared by loomwork
 * and the peers: its plan, and the next task's index. The plan is checked when the iteration ends.
 */
@State(Scope.Thread)
public class ProducerBatch {
  Plan plan;
  int next;

  @Setup(Level.Iteration)
  public void setUp(IterationParams params) {
    plan = Plan.allSucceed(params.getBatchSize());
    next = 0;
  }

  @TearDown(Level.Iteration)
  public void tearDown() throws InterruptedException {
    plan.awaitAndVerify();
  }
}
