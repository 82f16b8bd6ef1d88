package dev.loomwork.demo;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Stands in for a mail server: it records every message it is handed, after a short pause that
 * plays the part of the SMTP round trip. A message is recorded once per recipient, however often
 * it is sent.
 */
final class EmailSink {
  /** One welcome email. */
  record Email(String to, String subject, String body) {}

  private final Duration latency;
  private final Map<String, Email> received = new ConcurrentHashMap<>();
  private final AtomicLong sends = new AtomicLong();

  EmailSink(Duration latency) {
    this.latency = latency;
  }

  /** Sends the email: waits {@code latency}, then records it. Interruptible, as real I/O is. */
  void send(Email email) throws InterruptedException {
    if (latency.isPositive()) {
      Thread.sleep(latency);
    }
    sends.incrementAndGet();
    received.put(email.to(), email);
  }

  /** Distinct recipients that got their email. */
  long received() {
    return received.size();
  }

  /** Every send, duplicates included. */
  long sends() {
    return sends.get();
  }
}
