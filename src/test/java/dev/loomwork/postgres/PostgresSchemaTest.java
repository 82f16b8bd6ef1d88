package dev.loomwork.postgres;

import static dev.loomwork.TestTimeouts.GENEROUS_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loomwork.postgres.PostgresExtension.Database;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The schema file, its migration, and the test databases the extension hands out. */
@ExtendWith(PostgresExtension.class)
class PostgresSchemaTest {

  @Test
  void theExtensionGivesEachClassAMigratedDatabaseOfItsOwn(Database db, DataSource ds) throws Exception {
    assertEquals(db.name(), Sql.value(ds, "SELECT current_database()"));
    assertEquals(PostgresSchema.VERSION, PostgresSchema.version(ds));
    try (Database other = PostgresExtension.createDatabase(true)) {
      assertNotEquals(db.name(), other.name());
      assertEquals(PostgresSchema.VERSION, PostgresSchema.version(other.dataSource()));
    }
  }

  @Test
  void migrateCreatesTheSchemaOnceAndThenDoesNothing() throws Exception {
    try (Database empty = PostgresExtension.createDatabase(false)) {
      DataSource ds = empty.dataSource();
      assertEquals(0, PostgresSchema.version(ds));
      assertEquals(0, PostgresSchema.migrate(ds), "found nothing");
      assertEquals(PostgresSchema.VERSION, PostgresSchema.migrate(ds), "found the latest, applied nothing");
      assertEquals(PostgresSchema.VERSION, Sql.count(ds, "SELECT count(*) FROM loomwork_schema"));
      assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_schedule"));
      assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_task"));
    }
  }

  @Test
  void twoProcessesMigratingAtOnceAreSafe() throws Exception {
    try (Database empty = PostgresExtension.createDatabase(false);
        ExecutorService pool = Executors.newFixedThreadPool(2)) {
      DataSource ds = empty.dataSource();
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Integer>> found = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        found.add(
            pool.submit(
                () -> {
                  start.await();
                  return PostgresSchema.migrate(ds);
                }));
      }
      start.countDown();
      List<Integer> versions = new ArrayList<>();
      for (Future<Integer> f : found) {
        versions.add(f.get(GENEROUS_SECONDS, TimeUnit.SECONDS));
      }
      versions.sort(null);
      assertEquals(List.of(0, PostgresSchema.VERSION), versions, "one applied it, the other found it applied");
      assertEquals(PostgresSchema.VERSION, Sql.count(ds, "SELECT count(*) FROM loomwork_schema"));
    }
  }

  @Test
  void theFileAppliedByAnotherToolCountsAsMigrated() throws Exception {
    try (Database empty = PostgresExtension.createDatabase(false)) {
      DataSource ds = empty.dataSource();
      String sql;
      try (InputStream in = PostgresSchema.class.getClassLoader().getResourceAsStream(PostgresSchema.V1_RESOURCE)) {
        sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      assertEquals(PostgresSchema.script(1), sql);
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute(sql);
      }
      assertEquals(1, PostgresSchema.migrate(ds), "found version 1, applied version 2");
      assertEquals(PostgresSchema.VERSION, PostgresSchema.version(ds));
      assertEquals(PostgresSchema.script(2), readResource(PostgresSchema.V2_RESOURCE));
    }
  }

  private static String readResource(String name) throws Exception {
    try (InputStream in = PostgresSchema.class.getClassLoader().getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void aNewerSchemaIsRefused() throws Exception {
    try (Database db = PostgresExtension.createDatabase(true)) {
      Sql.exec(db.dataSource(), "INSERT INTO loomwork_schema (version) VALUES (99)");
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> PostgresSchema.migrate(db.dataSource()));
      assertTrue(e.getMessage().contains("version 99"), e.getMessage());
    }
  }

  @Test
  void everyTimeIsATimestamptz(DataSource ds) throws Exception {
    List<String> types = new ArrayList<>();
    try (Connection c = ds.getConnection();
        var r =
            c.createStatement()
                .executeQuery(
                    "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns"
                        + " WHERE table_name LIKE 'loomwork%' AND data_type LIKE 'time%' ORDER BY 1")) {
      while (r.next()) {
        types.add(r.getString(1));
      }
    }
    assertEquals(16, types.size(), types::toString); // 10 of version 1, 5 of the schedule table, 1 of pauses
    for (String t : types) {
      assertTrue(t.endsWith("timestamp with time zone"), t);
    }
  }

  @Test
  void theIndexesArePartialWhereTheDesignSaysSo(DataSource ds) throws Exception {
    assertEquals(
        "CREATE INDEX loomwork_task_ready ON public.loomwork_task USING btree (queue, run_at, id) WHERE (state = 'ready'::text)",
        Sql.value(ds, "SELECT indexdef FROM pg_indexes WHERE indexname = 'loomwork_task_ready'"));
    assertEquals(
        "CREATE INDEX loomwork_task_running ON public.loomwork_task USING btree (owner) WHERE (state = 'running'::text)",
        Sql.value(ds, "SELECT indexdef FROM pg_indexes WHERE indexname = 'loomwork_task_running'"));
    String unique = (String) Sql.value(ds, "SELECT indexdef FROM pg_indexes WHERE indexname = 'loomwork_task_live_key'");
    assertTrue(unique.startsWith("CREATE UNIQUE INDEX loomwork_task_live_key ON public.loomwork_task USING btree (queue, unique_key) WHERE"), unique);
    assertTrue(unique.contains("'ready'") && unique.contains("'running'") && unique.contains("unique_key IS NOT NULL"), unique);
  }

  @Test
  void theTableRefusesImpossibleRows(DataSource ds) throws Exception {
    String insert = "INSERT INTO loomwork_task (queue, handler, payload, state, owner, finished_at) VALUES ('q', 'h', '{}', ?, ?, ?)";
    SQLException badState = assertThrows(SQLException.class, () -> Sql.exec(ds, insert, "lost", null, null));
    assertEquals("23514", badState.getSQLState());
    assertThrows(SQLException.class, () -> Sql.exec(ds, insert, "running", null, null), "running without an owner");
    assertThrows(SQLException.class, () -> Sql.exec(ds, insert, "ready", 1L, null), "an owner while not running");
    assertThrows(SQLException.class, () -> Sql.exec(ds, insert, "succeeded", null, null), "ended without an end");
    assertEquals(0, Sql.count(ds, "SELECT count(*) FROM loomwork_task"));
  }

  @Test
  void aServerUrlNamesAnotherDatabaseOnTheSameServer() {
    assertEquals(
        "jdbc:postgresql://db.local:5433/loomwork_x?user=u&password=p",
        UrlDataSource.withDatabase("jdbc:postgresql://db.local:5433/postgres?user=u&password=p", "loomwork_x"));
    assertEquals("jdbc:postgresql://h1:5432,h2:5432/x", UrlDataSource.withDatabase("jdbc:postgresql://h1:5432,h2:5432/", "x"));
    assertEquals("jdbc:postgresql://h/x?ssl=true", UrlDataSource.withDatabase("jdbc:postgresql://h?ssl=true", "x"));
    assertThrows(IllegalArgumentException.class, () -> UrlDataSource.withDatabase("jdbc:mysql://h/db", "x"));
  }

  @Test
  void theStartFailureMessageSaysWhatToDo() {
    String m =
        PostgresExtension.startFailure(
            new IllegalStateException("Process [initdb] failed"), "initdb: error: cannot be run as root");
    assertTrue(m.contains("non-root user"), m);
    assertTrue(m.contains(PostgresExtension.URL_VARIABLE), m);
    assertTrue(m.contains("cannot be run as root"), m);
  }
}
