package dev.loomwork.kotlin

import dev.loomwork.TaskCodec

/**
 * Makes a [TaskCodec] of two functions, so that a typed task's codec is one lambda pair:
 *
 * ```kotlin
 * val WELCOME = TaskType.of("welcome", taskCodec<Welcome>({ Json.encodeToString(it) }, { Json.decodeFromString(it) }))
 * ```
 *
 * The codec is as thread-safe as the two functions; each may throw, as [TaskCodec.encode] and
 * [TaskCodec.decode] may.
 *
 * @param encode the payload as JSON text, not null
 * @param decode the payload of JSON text that [encode] produced
 * @return a codec that calls them
 */
public fun <P> taskCodec(encode: (P) -> String, decode: (String) -> P): TaskCodec<P> =
    object : TaskCodec<P> {
      override fun encode(payload: P): String = encode(payload)

      override fun decode(json: String): P = decode(json)

      override fun toString(): String = "taskCodec($encode, $decode)"
    }
