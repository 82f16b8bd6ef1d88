package dev.loomwork;

import tools.jackson.databind.json.JsonMapper;

/** A {@link TaskCodec} over Jackson 3, for any class Jackson maps (records included). */
public final class JacksonCodec<P> implements TaskCodec<P> {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private final Class<P> type;

  public JacksonCodec(Class<P> type) {
    this.type = type;
  }

  @Override
  public String encode(P payload) {
    return JSON.writeValueAsString(payload);
  }

  @Override
  public P decode(String json) {
    return JSON.readValue(json, type);
  }
}
