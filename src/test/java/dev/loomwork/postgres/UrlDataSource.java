package dev.loomwork.postgres;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * A data source of one JDBC URL: a new connection per call, no pool. (PostgreSQL's own data sources
 * are JNDI-referenceable, and the tests, compiled into the module, do not read {@code java.naming}.)
 */
public final class UrlDataSource implements DataSource {
  private final String url;
  /** Connection properties beside the URL's (an application name), or empty. */
  private final Properties properties;

  UrlDataSource(String url) {
    this(url, new Properties());
  }

  /**
   * A data source whose connections carry {@code applicationName}, which {@code pg_stat_activity}
   * shows: a process can tell its own connections from other processes'.
   */
  public UrlDataSource(String url, String applicationName) {
    this(url, new Properties());
    properties.setProperty("ApplicationName", applicationName);
  }

  private UrlDataSource(String url, Properties properties) {
    this.url = url;
    this.properties = properties;
  }

  /**
   * The URL of another database on the same server: {@code jdbc:postgresql://host:port/db?params}
   * with {@code db} replaced.
   */
  static String withDatabase(String url, String database) {
    int hosts = url.indexOf("//");
    if (!url.startsWith("jdbc:postgresql:") || hosts < 0) {
      throw new IllegalArgumentException(
          "expected a URL like jdbc:postgresql://host:port/database?user=...&password=..., got " + url);
    }
    int query = url.indexOf('?', hosts);
    String params = query < 0 ? "" : url.substring(query);
    String head = query < 0 ? url : url.substring(0, query);
    int slash = head.indexOf('/', hosts + 2);
    String server = slash < 0 ? head : head.substring(0, slash);
    return server + "/" + database + params;
  }

  /** The URL, password included: for a child process that connects to the same database. */
  public String url() {
    return url;
  }

  @Override
  public Connection getConnection() throws SQLException {
    return DriverManager.getConnection(url, properties);
  }

  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    Properties p = new Properties();
    p.putAll(properties);
    p.setProperty("user", username);
    p.setProperty("password", password);
    return DriverManager.getConnection(url, p);
  }

  @Override
  public PrintWriter getLogWriter() {
    return DriverManager.getLogWriter();
  }

  @Override
  public void setLogWriter(PrintWriter out) {
    DriverManager.setLogWriter(out);
  }

  @Override
  public void setLoginTimeout(int seconds) {
    DriverManager.setLoginTimeout(seconds);
  }

  @Override
  public int getLoginTimeout() {
    return DriverManager.getLoginTimeout();
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException();
  }

  @Override
  public <T> T unwrap(Class<T> type) throws SQLException {
    if (type.isInstance(this)) {
      return type.cast(this);
    }
    throw new SQLException("not a wrapper of " + type);
  }

  @Override
  public boolean isWrapperFor(Class<?> type) {
    return type.isInstance(this);
  }

  @Override
  public String toString() {
    return "UrlDataSource[" + url.replaceAll("password=[^&]*", "password=...") + "]";
  }
}
