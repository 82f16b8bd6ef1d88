/**
 * loomwork's PostgreSQL store: durable tasks that several processes run from.
 *
 * <p>Needs the PostgreSQL JDBC driver ({@code org.postgresql:postgresql}), an optional dependency
 * of loomwork: in-memory users carry nothing new. {@link dev.loomwork.postgres.PostgresSchema}
 * creates the tables; the store's SQL operations are package-private while the engine's store seam
 * is internal.
 */
@NullMarked
package dev.loomwork.postgres;

import org.jspecify.annotations.NullMarked;
