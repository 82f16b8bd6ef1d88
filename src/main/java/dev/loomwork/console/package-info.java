/**
 * The web console: server-rendered pages over loomwork's queues, in memory and durable, served by
 * the JDK's own HTTP server ({@code jdk.httpserver}) on a port of its own or mounted in an
 * application's {@link com.sun.net.httpserver.HttpServer} as an {@link
 * com.sun.net.httpserver.HttpHandler}. Start with {@link dev.loomwork.console.Console#builder()}.
 */
@NullMarked
package dev.loomwork.console;

import org.jspecify.annotations.NullMarked;
