/** The engine behind the public API. Not exported by the module; no compatibility promises. */
@NullMarked
package dev.loomwork.internal;

import org.jspecify.annotations.NullMarked;
