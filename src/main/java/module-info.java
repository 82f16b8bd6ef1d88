import org.jspecify.annotations.NullMarked;

/**
 * loomwork: an in-process work queue on virtual threads and structured concurrency.
 *
 * <p>{@code dev.loomwork} is the API; {@code dev.loomwork.kotlin} is its Kotlin API, which needs
 * kotlin-stdlib and kotlinx-coroutines-core (optional: {@code requires static}, so a Java application
 * resolves neither). {@code dev.loomwork.postgres} is the PostgreSQL store: it needs the PostgreSQL
 * JDBC driver, also optional. {@code dev.loomwork.console} is the web console, served by the JDK's
 * {@code jdk.httpserver} (optional too). The engine lives in {@code dev.loomwork.internal}, not exported.
 */
@NullMarked
module dev.loomwork {
  requires org.slf4j;
  // Micrometer is optional: only a queue given a MeterRegistry uses it.
  requires static micrometer.core;
  // So is Micrometer Observation: only a queue or store given an ObservationRegistry uses it.
  requires static micrometer.observation;
  requires static micrometer.commons;
  requires static transitive org.jspecify;
  // The PostgreSQL store's public signatures use javax.sql.DataSource.
  requires transitive java.sql;
  requires static org.postgresql.jdbc;
  requires static kotlin.stdlib;
  requires static kotlinx.coroutines.core;
  // The console (dev.loomwork.console) is served by the JDK's own HTTP server. Optional: an
  // application on the module path that uses the console requires jdk.httpserver itself.
  requires static jdk.httpserver;
  // The Spring Boot auto-configuration (dev.loomwork.spring): loaded by Spring Boot only.
  requires static spring.core;
  requires static spring.beans;
  requires static spring.context;
  requires static spring.boot;
  requires static spring.boot.autoconfigure;
  requires static spring.boot.health;

  exports dev.loomwork;
  exports dev.loomwork.admin;
  exports dev.loomwork.kotlin;
  exports dev.loomwork.postgres;
  exports dev.loomwork.console;
  exports dev.loomwork.spring;
}
