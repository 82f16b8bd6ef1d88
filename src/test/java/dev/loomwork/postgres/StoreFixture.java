package dev.loomwork.postgres;

import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * An emptied store for a test of the SQL operations: the test class's database with no task and no
 * worker, and the operations over it. {@link PostgresExtension} hands one to a constructor, test or
 * lifecycle method that declares it, and empties both tables as it does, so a test class asks for it
 * in its constructor and starts every test (JUnit makes an instance per test) from nothing.
 *
 * @param ds the database, a new connection per call
 * @param tasks the store's SQL operations over {@code ds}
 */
record StoreFixture(DataSource ds, PostgresTasks tasks) {

  /** Empties the tables of {@code ds} and returns the store over it. */
  static StoreFixture emptied(DataSource ds) throws SQLException {
    Sql.exec(ds, "TRUNCATE loomwork_task, loomwork_worker");
    return new StoreFixture(ds, new PostgresTasks(ds));
  }
}
