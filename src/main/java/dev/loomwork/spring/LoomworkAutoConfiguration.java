package dev.loomwork.spring;

import dev.loomwork.Backoff;
import dev.loomwork.RetryPolicy;
import dev.loomwork.WorkQueue;
import dev.loomwork.admin.MemoryAdmin;
import dev.loomwork.console.Console;
import dev.loomwork.console.ConsoleAuthorizer;
import dev.loomwork.postgres.PostgresSchema;
import dev.loomwork.postgres.PostgresStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

/**
 * The auto-configuration of loomwork in a Spring Boot application: the queues of {@code
 * loomwork.queues.<name>.*} and of the {@link QueueHandler} beans, as one {@link LoomworkQueues} bean
 * that starts them with the application and drains them at its stop; a {@link PostgresStore} on the
 * application's {@code DataSource} (with the PostgreSQL driver), its schema applied as {@code
 * loomwork.store.migration} says; the application's {@code MeterRegistry} and {@code
 * ObservationRegistry}, if it has them, on every queue; the {@code loomwork} health indicator,
 * with Spring Boot's health module; and the web console, on a port of its own, with {@code
 * loomwork.console.enabled=true}.
 */
@AutoConfiguration(
    afterName = {
      "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
      "org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration",
      "org.springframework.boot.liquibase.autoconfigure.LiquibaseAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration"
    })
@EnableConfigurationProperties(LoomworkProperties.class)
public class LoomworkAutoConfiguration {
  private static final Logger log = LoggerFactory.getLogger(LoomworkAutoConfiguration.class);

  /** Made by Spring Boot. */
  public LoomworkAutoConfiguration() {}

  /**
   * The queues.
   *
   * @param properties loomwork's properties
   * @param handlers the handler beans
   * @param customizers the customizer beans, in their order
   * @param store the store, if there is one
   * @param environment the application's environment
   * @return the queues, built (they accept tasks) and started with the application
   * @throws InvalidConfigurationPropertyValueException if a property is out of range
   */
  @Bean
  @ConditionalOnMissingBean
  public LoomworkQueues loomworkQueues(
      LoomworkProperties properties,
      ObjectProvider<QueueHandler<?>> handlers,
      ObjectProvider<WorkQueueCustomizer> customizers,
      ObjectProvider<PostgresStore> store,
      Environment environment) {
    List<QueueHandler<?>> declared = handlers.orderedStream().toList();
    List<WorkQueueCustomizer> custom = customizers.orderedStream().toList();
    Set<String> names = new LinkedHashSet<>(properties.getQueues().keySet());
    declared.forEach(h -> names.add(h.queue()));
    Map<String, WorkQueue> queues = new LinkedHashMap<>();
    Duration longestAbandon = Duration.ZERO;
    for (String name : names) {
      LoomworkProperties.Queue q =
          properties.getQueues().getOrDefault(name, new LoomworkProperties.Queue());
      if (q.getAbandonAfter().compareTo(longestAbandon) > 0) {
        longestAbandon = q.getAbandonAfter();
      }
      queues.put(name, build(name, q, declared, custom, store));
    }
    return new LoomworkQueues(queues, drainTimeout(properties, environment, longestAbandon));
  }

  private static WorkQueue build(
      String name,
      LoomworkProperties.Queue q,
      List<QueueHandler<?>> handlers,
      List<WorkQueueCustomizer> customizers,
      ObjectProvider<PostgresStore> stores) {
    String prefix = "loomwork.queues." + name + ".";
    WorkQueue.Builder b = WorkQueue.builder(name);
    set(prefix + "concurrency", q.getConcurrency(), b::concurrency);
    set(prefix + "capacity", q.getCapacity(), b::capacity);
    set(prefix + "abandon-after", q.getAbandonAfter(), b::abandonAfter);
    set(prefix + "progress-interval", q.getProgressInterval(), b::progressInterval);
    b.attemptScope(q.getAttemptScope());
    if (q.isCarryMdc()) {
      b.carryMdc();
    }
    b.retryPolicy(retryPolicy(prefix + "retry.", q.getRetry()));
    if (q.isDurable()) {
      PostgresStore store = stores.getIfAvailable();
      if (store == null) {
        throw new InvalidConfigurationPropertyValueException(
            prefix + "durable", true,
            "a durable queue needs the PostgreSQL store: a DataSource bean, the PostgreSQL JDBC driver,"
                + " and loomwork.store.enabled=true");
      }
      b.store(store);
    }
    for (QueueHandler<?> h : handlers) {
      if (h.queue().equals(name)) {
        handle(b, h);
      }
    }
    for (WorkQueueCustomizer c : customizers) {
      c.customize(name, b);
    }
    try {
      return b.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new IllegalStateException("loomwork: queue '" + name + "' cannot be built: " + e.getMessage(), e);
    }
  }

  private static <P extends @Nullable Object> void handle(WorkQueue.Builder b, QueueHandler<P> h) {
    b.handle(h.type(), h.handler());
  }

  /** Applies a property's value, turning the builder's range error into one that names the property. */
  private static <T> void set(String property, T value, Consumer<T> setter) {
    try {
      setter.accept(value);
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigurationPropertyValueException(property, value, e.getMessage());
    }
  }

  private static RetryPolicy retryPolicy(String prefix, LoomworkProperties.Retry r) {
    RetryPolicy p = RetryPolicy.defaults();
    Integer retries = r.getRetries();
    if (retries != null) {
      try {
        p = p.withRetries(retries);
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigurationPropertyValueException(prefix + "retries", retries, e.getMessage());
      }
    }
    if (r.getInitialBackoff() != null
        || r.getMaxBackoff() != null
        || r.getBackoffFactor() != null
        || r.getJitter() != null) {
      Backoff base = p.backoff();
      Duration initial = r.getInitialBackoff() != null ? r.getInitialBackoff() : base.initial();
      Duration max = r.getMaxBackoff() != null ? r.getMaxBackoff() : base.max();
      if (max.compareTo(initial) < 0 && r.getMaxBackoff() == null) {
        max = initial; // only the initial delay was raised past the default cap: the cap follows it
      }
      double factor = r.getBackoffFactor() != null ? r.getBackoffFactor() : base.factor();
      double jitter = r.getJitter() != null ? r.getJitter() : base.jitter();
      try {
        p = p.withBackoff(new Backoff(initial, factor, max, jitter));
      } catch (IllegalArgumentException e) {
        String m = String.valueOf(e.getMessage());
        String property;
        Object value;
        if (m.startsWith("initial")) {
          property = "initial-backoff";
          value = initial;
        } else if (m.startsWith("max")) {
          property = "max-backoff";
          value = max;
        } else if (m.startsWith("factor")) {
          property = "backoff-factor";
          value = factor;
        } else {
          property = "jitter";
          value = jitter;
        }
        throw new InvalidConfigurationPropertyValueException(prefix + property, value, m);
      }
    }
    Duration timeout = r.getAttemptTimeout();
    if (timeout != null) {
      try {
        p = p.withAttemptTimeout(timeout);
      } catch (IllegalArgumentException e) {
        throw new InvalidConfigurationPropertyValueException(prefix + "attempt-timeout", timeout, e.getMessage());
      }
    }
    return p;
  }

  /**
   * {@code loomwork.shutdown.timeout}, or the lifecycle's phase timeout less the longest
   * abandon-after and a second, so that the cut and its report fit in the phase.
   */
  static Duration drainTimeout(LoomworkProperties properties, Environment environment, Duration abandon) {
    Duration set = properties.getShutdown().getTimeout();
    if (set != null) {
      if (set.isNegative()) {
        throw new InvalidConfigurationPropertyValueException(
            "loomwork.shutdown.timeout", set, "timeout: " + set + " (expected: >= 0)");
      }
      return set;
    }
    Duration phase =
        Binder.get(environment)
            .bind("spring.lifecycle.timeout-per-shutdown-phase", Duration.class)
            .orElse(Duration.ofSeconds(30));
    Duration drain = phase.minus(abandon).minusSeconds(1);
    return drain.isNegative() ? Duration.ZERO : drain;
  }

  /** The store, on the application's {@code DataSource}, with the PostgreSQL driver. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.postgresql.Driver")
  @ConditionalOnBean(DataSource.class)
  @ConditionalOnProperty(prefix = "loomwork.store", name = "enabled", matchIfMissing = true)
  public static class StoreConfiguration {
    /** Made by Spring. */
    public StoreConfiguration() {}

    /**
     * The store, its schema applied or checked as {@code loomwork.store.migration} says.
     *
     * @param dataSource the application's data source
     * @param properties loomwork's properties
     * @param beans the application's beans (Flyway, Liquibase, an ObservationRegistry)
     * @return the store
     * @throws SQLException if the schema cannot be read or applied
     * @throws IllegalStateException if the schema is missing or older than this library's and
     *     loomwork is not the one to apply it
     */
    @Bean
    @ConditionalOnMissingBean
    public PostgresStore loomworkPostgresStore(
        DataSource dataSource, LoomworkProperties properties, ListableBeanFactory beans) throws SQLException {
      LoomworkProperties.Store s = properties.getStore();
      PostgresStore.Builder b = PostgresStore.builder(dataSource);
      if (s.getLease() != null) {
        Duration lease = s.getLease();
        set("loomwork.store.lease", lease, b::lease);
      }
      if (s.getRescueInterval() != null) {
        set("loomwork.store.rescue-interval", s.getRescueInterval(), b::rescueInterval);
      }
      if (s.getPollInterval() != null) {
        set("loomwork.store.poll-interval", s.getPollInterval(), b::pollInterval);
      }
      if (s.isPollOnly()) {
        b.pollOnly();
      }
      if (properties.isObservations() && ClassUtils.isPresent(OBSERVATION_REGISTRY, null)) {
        Observations.apply(b, beans);
      }
      PostgresStore store = b.build();
      String migrator = migrator(beans);
      boolean loomworkMigrates =
          switch (s.getMigration()) {
            case LOOMWORK -> true;
            case NONE -> false;
            case AUTO -> migrator == null;
          };
      if (loomworkMigrates) {
        store.migrate();
        return store;
      }
      int version = PostgresSchema.version(dataSource);
      if (version < PostgresSchema.VERSION) {
        throw new IllegalStateException(
            "loomwork: the database's loomwork schema is version " + version + ", this library needs "
                + PostgresSchema.VERSION + (migrator != null ? " and " + migrator + " applies migrations here" : "")
                + ": add loomwork's scripts (dev/loomwork/postgres/V*__loomwork*.sql in its jar,"
                + " PostgresSchema.script(v)) to the application's migrations, or set"
                + " loomwork.store.migration=loomwork to let loomwork apply them");
      }
      return store;
    }

    /** Flyway or Liquibase, if the application runs one; their beans are made (and migrate) first. */
    private static @Nullable String migrator(ListableBeanFactory beans) {
      for (String[] c :
          List.of(
              new String[] {"Flyway", "org.flywaydb.core.Flyway"},
              new String[] {"Liquibase", "liquibase.integration.spring.SpringLiquibase"},
              new String[] {"Flyway", "org.springframework.boot.flyway.autoconfigure.FlywayMigrationInitializer"})) {
        if (ClassUtils.isPresent(c[1], null)) {
          try {
            Class<?> type = ClassUtils.forName(c[1], null);
            if (!beans.getBeansOfType(type).isEmpty()) {
              return c[0];
            }
          } catch (ClassNotFoundException | LinkageError e) {
            log.debug("loomwork: {} is not usable here", c[1], e);
          }
        }
      }
      return null;
    }
  }

  static final String OBSERVATION_REGISTRY = "io.micrometer.observation.ObservationRegistry";

  /** Micrometer Observation, only touched when it is on the class path. */
  static final class Observations {
    private Observations() {}

    static void apply(PostgresStore.Builder b, ListableBeanFactory beans) {
      beans.getBeanProvider(ObservationRegistry.class).ifAvailable(b::observationRegistry);
    }
  }

  /** The application's MeterRegistry on every queue, unless {@code loomwork.metrics=false}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "io.micrometer.core.instrument.MeterRegistry")
  public static class MetricsConfiguration {
    /** Made by Spring. */
    public MetricsConfiguration() {}

    /**
     * Gives every queue the application's meter registry.
     *
     * @param registry the registry, if the application has one
     * @param properties loomwork's properties
     * @return the customizer
     */
    @Bean
    public WorkQueueCustomizer loomworkMetricsCustomizer(
        ObjectProvider<MeterRegistry> registry, LoomworkProperties properties) {
      return (name, b) -> {
        if (properties.isMetrics()) {
          registry.ifAvailable(b::meterRegistry);
        }
      };
    }
  }

  /** The application's ObservationRegistry on every queue, unless {@code loomwork.observations=false}. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = OBSERVATION_REGISTRY)
  public static class ObservationConfiguration {
    /** Made by Spring. */
    public ObservationConfiguration() {}

    /**
     * Gives every queue the application's observation registry.
     *
     * @param registry the registry, if the application has one
     * @param properties loomwork's properties
     * @return the customizer
     */
    @Bean
    public WorkQueueCustomizer loomworkObservationCustomizer(
        ObjectProvider<ObservationRegistry> registry, LoomworkProperties properties) {
      return (name, b) -> {
        if (properties.isObservations()) {
          registry.ifAvailable(b::observationRegistry);
        }
      };
    }
  }

  /**
   * The web console, on a port of its own, when {@code loomwork.console.enabled=true}: the store's
   * queues (every queue in its database) and this application's memory queues, read-only unless the
   * application defines a {@link ConsoleAuthorizer} bean.
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnProperty(prefix = "loomwork.console", name = "enabled", havingValue = "true")
  public static class ConsoleConfiguration {
    /** Made by Spring. */
    public ConsoleConfiguration() {}

    /**
     * The console, started with the application.
     *
     * @param queues the queues
     * @param properties loomwork's properties
     * @param store the store, if there is one
     * @param authorizer the application's authoriser, if it has one
     * @return the console, not started yet
     * @throws InvalidConfigurationPropertyValueException if a {@code loomwork.console} property is
     *     invalid, or the runtime lacks the module {@code jdk.httpserver}
     */
    @Bean
    @ConditionalOnMissingBean
    public LoomworkConsole loomworkConsole(
        LoomworkQueues queues,
        LoomworkProperties properties,
        ObjectProvider<PostgresStore> store,
        ObjectProvider<ConsoleAuthorizer> authorizer) {
      if (!ClassUtils.isPresent("com.sun.net.httpserver.HttpServer", LoomworkAutoConfiguration.class.getClassLoader())) {
        throw new InvalidConfigurationPropertyValueException(
            "loomwork.console.enabled", true,
            "the console is served by the JDK's HTTP server, and the module jdk.httpserver is not in this"
                + " runtime (on the module path: --add-modules jdk.httpserver)");
      }
      LoomworkProperties.Console p = properties.getConsole();
      InetAddress address;
      try {
        address = InetAddress.getByName(p.getAddress());
      } catch (UnknownHostException e) {
        throw new InvalidConfigurationPropertyValueException(
            "loomwork.console.address", p.getAddress(), "address: '" + p.getAddress() + "' (expected: an IP address or a known host name)");
      }
      // The builder checks each value now, so a bad one fails the application's start here.
      Console.Builder b = Console.builder();
      b.address(address);
      set("loomwork.console.port", p.getPort(), b::port);
      set("loomwork.console.refresh", p.getRefresh(), b::refresh);
      PostgresStore s = store.getIfAvailable();
      if (s != null) {
        b.admin(s.admin());
      }
      List<WorkQueue> inMemory = new ArrayList<>();
      for (Map.Entry<String, WorkQueue> e : queues.all().entrySet()) {
        LoomworkProperties.Queue q = properties.getQueues().get(e.getKey());
        if (q == null || !q.isDurable()) { // a durable queue's tasks are the store's, shown above
          inMemory.add(e.getValue());
        }
      }
      inMemory.sort(Comparator.comparing(WorkQueue::name));
      if (!inMemory.isEmpty() || s == null) {
        b.admin(MemoryAdmin.of(inMemory.toArray(WorkQueue[]::new)));
      }
      authorizer.ifAvailable(b::authorizer);
      return new LoomworkConsole(b::build);
    }
  }

  /** The {@code loomwork} health indicator, with Spring Boot's health module. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
  public static class HealthConfiguration {
    /** Made by Spring. */
    public HealthConfiguration() {}

    /**
     * The indicator.
     *
     * @param queues the queues
     * @return the indicator, named {@code loomwork}
     */
    @Bean
    @ConditionalOnMissingBean(name = "loomworkHealthIndicator")
    public LoomworkHealthIndicator loomworkHealthIndicator(LoomworkQueues queues) {
      return new LoomworkHealthIndicator(queues);
    }
  }

}
