/**
 * The public API of loomwork: {@link dev.loomwork.WorkQueue}, {@link dev.loomwork.Task}, the body
 * interfaces {@link dev.loomwork.Work} and {@link dev.loomwork.Job}, the policies {@link
 * dev.loomwork.RetryPolicy} and {@link dev.loomwork.Backoff}, and the scoped {@link
 * dev.loomwork.TaskContext}.
 */
@NullMarked
package dev.loomwork;

import org.jspecify.annotations.NullMarked;
