package dev.loomwork.internal;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What a durable store writes down of a typed task at enqueue ({@link TaskCore#durableSpec}).
 *
 * @param handler the handler's name
 * @param version the payload version its type writes, at least 1
 * @param payloadJson the payload, encoded by the type's codec
 * @param name the task's name, or null
 * @param notBefore its first attempt's earliest time, or null
 * @param delay its first attempt's delay, or null
 * @param maxAttempts the attempts it may take, at least 1
 * @param within its deadline from enqueue, or null
 */
public record DurableSpec(
    String handler,
    int version,
    String payloadJson,
    @Nullable String name,
    @Nullable Instant notBefore,
    @Nullable Duration delay,
    int maxAttempts,
    @Nullable Duration within) {}
