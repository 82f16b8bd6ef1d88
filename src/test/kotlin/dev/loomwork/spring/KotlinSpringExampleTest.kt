package dev.loomwork.spring

import dev.loomwork.TaskCodec
import dev.loomwork.TaskType
import java.util.concurrent.ConcurrentLinkedQueue
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.springframework.boot.autoconfigure.AutoConfigurations
import org.springframework.boot.test.context.runner.ApplicationContextRunner
import org.springframework.context.annotation.Bean
import org.springframework.context.annotation.Configuration

/** The Kotlin example of docs/spring.md: a handler bean, run by the auto-configuration's queue. */
class KotlinSpringExampleTest {
  class Mailer {
    val sent = ConcurrentLinkedQueue<String>()

    fun send(to: String) {
      sent.add(to)
    }
  }

  object Text : TaskCodec<String> {
    override fun encode(payload: String): String = "\"$payload\""

    override fun decode(json: String): String = json.removeSurrounding("\"")
  }

  // README:spring-kotlin
  @Configuration(proxyBeanMethods = false)
  class Handlers {
    @Bean fun mailer() = Mailer()

    @Bean
    fun welcome(mailer: Mailer): QueueHandler<String> =
        QueueHandler.of("email", WELCOME) { _, address -> mailer.send(address) }

    companion object {
      val WELCOME: TaskType<String> = TaskType.of("email.welcome", Text)
    }
  }
  // README:end

  @Test
  fun theHandlerBeanRunsOnTheAutoConfiguredQueue() {
    ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(LoomworkAutoConfiguration::class.java))
        .withUserConfiguration(Handlers::class.java)
        .withPropertyValues("loomwork.queues.email.concurrency=2")
        .run { context ->
          val queues = context.getBean(LoomworkQueues::class.java)
          val task = queues.get("email").enqueue(dev.loomwork.Task.of(Handlers.WELCOME, "ada@example.com"))
          task.await(dev.loomwork.TestTimeouts.GENEROUS)
          assertEquals(listOf("ada@example.com"), context.getBean(Mailer::class.java).sent.toList())
          assertEquals(2, queues.get("email").health().concurrency)
        }
  }
}
