package dev.loomwork.internal;

import dev.loomwork.TaskCodec;
import dev.loomwork.TaskCodecException;
import dev.loomwork.TaskType;
import org.jspecify.annotations.Nullable;

/**
 * What makes a task typed: its handler's name and its payload, as an object until the task is
 * accepted and as its codec's JSON text after. A task read back from a report has only the text, and
 * keeps its id. Written by the enqueuing thread before the task is frozen (which publishes it), read
 * only after.
 */
final class Typed {
  /** The type the task was created with; null for a task read back from a report. */
  final @Nullable TaskType<?> type;
  final String handler;
  /** The payload version its type writes; 1 for a task read back from a report. */
  final int version;
  /** The id a task read back from a report keeps: its unique key while pending or running. */
  final @Nullable String fixedId;
  private @Nullable Object payload;
  @Nullable String json;

  Typed(TaskType<?> type, @Nullable Object payload) {
    this.type = type;
    this.handler = type.handler();
    this.version = type.version();
    this.fixedId = null;
    this.payload = payload;
  }

  Typed(String handler, String json, String fixedId) {
    this.type = null;
    this.handler = handler;
    this.version = 1;
    this.fixedId = fixedId;
    this.json = json;
  }

  /**
   * Encodes the payload, once; a task read back from a report is already encoded. A codec's
   * unchecked exception reaches the caller as it is; a checked one is wrapped.
   */
  @SuppressWarnings("unchecked")
  void encode(String taskName) {
    TaskType<?> t = type;
    if (t == null || json != null) {
      return;
    }
    String text;
    try {
      text = ((TaskCodec<Object>) t.codec()).encode(payload);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new TaskCodecException(
          "handler '" + handler + "': the codec could not encode the payload of task '" + taskName + "'", e);
    }
    if (text == null) {
      throw new TaskCodecException(
          "handler '" + handler + "': the codec encoded the payload of task '" + taskName + "' as null", null);
    }
    json = text;
    payload = null;
  }
}
