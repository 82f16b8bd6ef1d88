/**
 * Spring Boot auto-configuration of loomwork: queues declared under {@code loomwork.queues.<name>},
 * handlers from {@link dev.loomwork.spring.QueueHandler} beans, a {@code PostgresStore} on the
 * application's {@code DataSource}, metrics and observations through the application's registries,
 * a health indicator, and a shutdown that drains the queues after the web server stopped taking
 * requests. Loaded only by Spring Boot (through {@code META-INF/spring/...AutoConfiguration.imports});
 * Spring is an optional dependency of loomwork, so nothing here is loaded without it.
 */
@NullMarked
package dev.loomwork.spring;

import org.jspecify.annotations.NullMarked;
