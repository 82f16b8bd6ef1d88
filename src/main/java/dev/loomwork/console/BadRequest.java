package dev.loomwork.console;

/** A request refused for its parameters, with a message that names the parameter. */
final class BadRequest extends RuntimeException {
  BadRequest(String message) {
    super(message, null, false, false);
  }
}
