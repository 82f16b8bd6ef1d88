package dev.loomwork.kotlin

/**
 * loomwork's [dev.loomwork.Job] (a blocking body that returns a result) under a name that does not
 * clash with `kotlinx.coroutines.Job` when both `dev.loomwork.*` and `kotlinx.coroutines.*` are
 * star-imported. `LoomworkJob<Int> { ctx -> ctx.attempt() }` makes one; most Kotlin code needs no
 * name at all (a trailing lambda, or [suspendingTask]).
 */
public typealias LoomworkJob<T> = dev.loomwork.Job<T>
