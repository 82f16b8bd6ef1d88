package dev.loomwork;

import org.jspecify.annotations.Nullable;

/**
 * Turns a typed task's payload into JSON text and back. loomwork ships no JSON library: a codec
 * wraps the one the application already uses (Jackson, kotlinx.serialization, Gson, ...).
 *
 * <p>The payload is encoded when the task is enqueued, so an encoding error reaches the caller of
 * {@code enqueue} and nothing is accepted. It is decoded at each attempt, by the codec of the
 * {@link TaskType} registered on the queue that runs it; a payload that fails to decode fails its
 * task at once with a {@link TaskCodecException}, which is never retried. Implementations must be
 * thread-safe.
 *
 * @param <P> the payload type
 */
public interface TaskCodec<P extends @Nullable Object> {

  /**
   * Encodes a payload as JSON text.
   *
   * @param payload the payload
   * @return JSON text, not null
   * @throws Exception if the payload cannot be encoded; it reaches the caller of {@code enqueue}
   */
  String encode(P payload) throws Exception;

  /**
   * Decodes JSON text that {@link #encode} (of this or another process) produced.
   *
   * @param json the JSON text
   * @return the payload
   * @throws Exception if the text is not a payload of this type
   */
  P decode(String json) throws Exception;
}
