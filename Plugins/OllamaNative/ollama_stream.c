/*
 * ollama_stream.c — Ollama's NDJSON stream (one JSON object per line) to OpenAI SSE chunks.
 */
#include <stdlib.h>
#include <string.h>

#include "ollama_internal.h"

#define SET(obj, key, val) (ok &= (json_object_set_new((obj), (key), (val)) == 0))

static tollgate_status out_of_memory(tollgate_type_buffer *error) {
  return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory while converting the stream");
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Appends "data: <json>\n\n"; steals doc. */
static bool emit(oln_sb *out, json_t *doc) {
  bool ok = doc != NULL;
  if (ok) {
    oln_sb_append(out, "data: ", 6);
    oln_sb_append_json(out, doc);
    oln_sb_append(out, "\n\n", 2);
    ok = !out->oom;
  }
  json_decref(doc);
  return ok;
}

/* A chat.completion.chunk. With usage (stolen) it is the usage chunk ("choices":[]); otherwise
 * one choice with delta (stolen) and finish_reason (NULL gives null). */
static bool emit_chunk(const struct tollgate_type_stream *s, oln_sb *out, json_t *delta,
                       const char *finish_reason, json_t *usage) {
  bool ok = true;
  json_t *doc = json_object();
  json_t *choices = json_array();
  if (!doc || !choices) {
    json_decref(doc);
    json_decref(choices);
    json_decref(delta);
    json_decref(usage);
    return false;
  }
  SET(doc, "id", json_string(s->id));
  SET(doc, "object", json_string("chat.completion.chunk"));
  SET(doc, "created", json_integer(s->created));
  SET(doc, "model", json_stringn(s->model, s->model_len));
  if (usage) {
    json_decref(delta);
    SET(doc, "choices", choices);
    SET(doc, "usage", usage);
  } else {
    json_t *choice = json_object();
    if (choice) {
      SET(choice, "index", json_integer(0));
      SET(choice, "delta", delta);
      SET(choice, "logprobs", json_null());
      SET(choice, "finish_reason", finish_reason ? json_string(finish_reason) : json_null());
      if (json_array_append_new(choices, choice) != 0) ok = false;
    } else {
      json_decref(delta);
      ok = false;
    }
    SET(doc, "choices", choices);
  }
  if (!ok) {
    json_decref(doc);
    return false;
  }
  return emit(out, doc);
}

static void set_model_from_line(struct tollgate_type_stream *s, const json_t *root) {
  json_t *m = json_object_get(root, "model");
  if (s->model_len > 0 || !json_is_string(m)) return;
  char *copy = oln_strndup(json_string_value(m), json_string_length(m));
  if (!copy) return;
  free(s->model);
  s->model = copy;
  s->model_len = json_string_length(m);
}

/* Converts one complete NDJSON line. */
static tollgate_status process_line(struct tollgate_type_stream *s, const char *line, size_t len,
                                    oln_sb *out, tollgate_type_usage *usage,
                                    tollgate_type_buffer *error) {
  while (len > 0 && is_space(line[0])) {
    line++;
    len--;
  }
  while (len > 0 && is_space(line[len - 1])) len--;
  if (len == 0) return TOLLGATE_OK;

  json_error_t jerr;
  json_t *root = json_loadb(line, len, OLN_LOAD_FLAGS, &jerr);
  if (!root)
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM, "upstream sent an invalid stream line: %s",
                    jerr.text);
  if (!json_is_object(root)) {
    json_decref(root);
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM,
                    "upstream sent a stream line that is not a JSON object");
  }
  const char *upstream_error = oln_error_message(root);
  if (upstream_error) {
    tollgate_status st = oln_fail(error, TOLLGATE_ERR_UPSTREAM, "upstream error: %s",
                                  upstream_error);
    json_decref(root);
    return st;
  }

  if (!s->started) {
    oln_id_and_created(root, line, len, s->id, sizeof s->id, &s->created);
    set_model_from_line(s, root);
    s->started = true;
  }

  json_t *message = json_object_get(root, "message");
  json_t *content = json_is_object(message) ? json_object_get(message, "content") : NULL;
  json_t *thinking = json_is_object(message) ? json_object_get(message, "thinking") : NULL;
  json_t *tool_calls = NULL;
  if (json_is_object(message) &&
      !oln_convert_tool_calls(json_object_get(message, "tool_calls"), &s->tool_index, true,
                              &tool_calls)) {
    json_decref(root);
    return out_of_memory(error);
  }
  bool done = json_is_true(json_object_get(root, "done"));

  bool ok = true;
  json_t *delta = json_object();
  if (!delta) {
    json_decref(tool_calls);
    json_decref(root);
    return out_of_memory(error);
  }
  bool first = !s->sent_role;
  if (first) SET(delta, "role", json_string("assistant"));
  if (json_is_string(content) && json_string_length(content) > 0)
    SET(delta, "content", json_incref(content));
  else if (first)
    SET(delta, "content", json_string(""));
  if (json_is_string(thinking) && json_string_length(thinking) > 0)
    SET(delta, "reasoning_content", json_incref(thinking));
  if (tool_calls) {
    SET(delta, "tool_calls", tool_calls);
    s->saw_tool_calls = true;
  }
  if (json_object_size(delta) > 0) {
    if (!emit_chunk(s, out, delta, NULL, NULL)) ok = false;
    s->sent_role = true;
  } else {
    json_decref(delta);
  }

  if (done && ok) {
    json_t *done_reason = json_object_get(root, "done_reason");
    const char *finish = "stop";
    if (s->saw_tool_calls)
      finish = "tool_calls";
    else if (json_is_string(done_reason) && strcmp(json_string_value(done_reason), "length") == 0)
      finish = "length";
    if (!emit_chunk(s, out, json_object(), finish, NULL)) ok = false;

    int64_t prompt = 0, completion = 0;
    json_t *p = json_object_get(root, "prompt_eval_count");
    json_t *c = json_object_get(root, "eval_count");
    if (json_is_integer(p) && json_integer_value(p) >= 0) {
      prompt = (int64_t)json_integer_value(p);
      if (usage) {
        usage->prompt_tokens = prompt;
        usage->fields |= TOLLGATE_USAGE_PROMPT;
      }
    }
    if (json_is_integer(c) && json_integer_value(c) >= 0) {
      completion = (int64_t)json_integer_value(c);
      if (usage) {
        usage->completion_tokens = completion;
        usage->fields |= TOLLGATE_USAGE_COMPLETION;
      }
    }
    if (s->include_usage && ok) {
      json_t *u = json_object();
      if (!u) {
        ok = false;
      } else {
        SET(u, "prompt_tokens", json_integer(prompt));
        SET(u, "completion_tokens", json_integer(completion));
        SET(u, "total_tokens", json_integer(prompt + completion));
        if (!ok)
          json_decref(u);
        else if (!emit_chunk(s, out, NULL, NULL, u)) /* steals u */
          ok = false;
      }
    }
    if (ok) ok = oln_sb_append_str(out, "data: [DONE]\n\n");
    s->done = true;
  }
  json_decref(root);
  return ok ? TOLLGATE_OK : out_of_memory(error);
}

static tollgate_status append_pending(struct tollgate_type_stream *s, const uint8_t *p, size_t n,
                                      tollgate_type_buffer *error) {
  if (n == 0) return TOLLGATE_OK;
  if (n > OLN_MAX_LINE - s->pending_len)
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM,
                    "upstream sent a stream line longer than %zu bytes", OLN_MAX_LINE);
  size_t need = s->pending_len + n;
  if (need > s->pending_cap) {
    size_t cap = s->pending_cap ? s->pending_cap : 4096;
    while (cap < need) cap *= 2;
    char *grown = realloc(s->pending, cap);
    if (!grown) return out_of_memory(error);
    s->pending = grown;
    s->pending_cap = cap;
  }
  memcpy(s->pending + s->pending_len, p, n);
  s->pending_len = need;
  return TOLLGATE_OK;
}

static void drop_pending(struct tollgate_type_stream *s) {
  free(s->pending);
  s->pending = NULL;
  s->pending_len = s->pending_cap = 0;
}

tollgate_status oln_stream_feed(struct tollgate_type_stream *s, tollgate_type_bytes chunk,
                                tollgate_type_buffer *out, tollgate_type_usage *usage,
                                tollgate_type_buffer *error) {
  if (s->failed)
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM, "the stream already failed");
  if (chunk.len > 0 && !chunk.ptr)
    return oln_fail(error, TOLLGATE_ERR_INTERNAL, "stream chunk has a length but no bytes");

  oln_sb sb = {0};
  tollgate_status st = TOLLGATE_OK;
  const uint8_t *p = chunk.ptr;
  size_t n = chunk.ptr ? chunk.len : 0;
  while (n > 0 && !s->done && st == TOLLGATE_OK) {
    const uint8_t *nl = memchr(p, '\n', n);
    if (!nl) {
      st = append_pending(s, p, n, error);
      break;
    }
    size_t part = (size_t)(nl - p);
    if (s->pending_len > 0) {
      st = append_pending(s, p, part, error);
      if (st == TOLLGATE_OK) {
        st = process_line(s, s->pending, s->pending_len, &sb, usage, error);
        s->pending_len = 0;
      }
    } else if (part > OLN_MAX_LINE) {
      st = oln_fail(error, TOLLGATE_ERR_UPSTREAM,
                    "upstream sent a stream line longer than %zu bytes", OLN_MAX_LINE);
    } else {
      st = process_line(s, (const char *)p, part, &sb, usage, error);
    }
    p = nl + 1;
    n -= part + 1;
  }
  if (s->done) drop_pending(s); /* anything after the final line is ignored */
  if (st != TOLLGATE_OK) {
    s->failed = true;
    drop_pending(s);
  }
  if (sb.oom && st == TOLLGATE_OK) {
    s->failed = true;
    st = out_of_memory(error);
  }
  oln_sb_move_to_buffer(&sb, out);
  return st;
}

tollgate_status oln_stream_finish(struct tollgate_type_stream *s, tollgate_type_buffer *out,
                                  tollgate_type_usage *usage, tollgate_type_buffer *error) {
  if (s->failed)
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM, "the stream already failed");
  oln_sb sb = {0};
  tollgate_status st = TOLLGATE_OK;
  if (!s->done && s->pending_len > 0) st = process_line(s, s->pending, s->pending_len, &sb, usage, error);
  drop_pending(s);
  if (st == TOLLGATE_OK && sb.oom) st = out_of_memory(error);
  if (st == TOLLGATE_OK && !s->done)
    st = oln_fail(error, TOLLGATE_ERR_UPSTREAM, "stream ended before done");
  if (st != TOLLGATE_OK) s->failed = true;
  oln_sb_move_to_buffer(&sb, out);
  return st;
}
