/*
 * ollama_native.c — the "ollama-native" adaptor plugin: Tollgate's OpenAI dialect to Ollama's
 * native API (POST {base_url}/api/chat and POST {base_url}/api/embed), written in C11 with jansson
 * against tollgate_plugin.h only.
 *
 * This file holds the descriptor, the handles and the argument checks of every hook; the
 * conversions live in ollama_request.c, ollama_response.c and ollama_stream.c.
 *
 * Channel settings (JSON):
 *   base_url              optional, http:// or https://, default http://127.0.0.1:11434
 *   credentials.api_key   optional; sent as "Authorization: Bearer <key>" (for a proxy in front
 *                         of Ollama)
 *   options.keep_alive    optional string or number, sent as Ollama's keep_alive
 *   options.ollama_options optional object of Ollama model options (e.g. {"num_ctx":8192}); the
 *                         request's own sampling fields override them
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ollama_internal.h"

/* The only global: the host table, written by on_init before any other hook runs. */
static const tollgate_type_host *g_host;

void oln_log(tollgate_type_log_level level, const char *fmt, ...) {
  const tollgate_type_host *host = g_host;
  if (!host || host->struct_size < offsetof(tollgate_type_host, callback_log) + sizeof(void *) ||
      !host->callback_log)
    return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
  tollgate_type_bytes message = {(const uint8_t *)buf, len};
  host->callback_log(host, level, message);
}

/* ---------------------------------------------------------------------------------------------
 * Plugin lifecycle
 * ------------------------------------------------------------------------------------------- */

static tollgate_status on_init(const tollgate_type_host *host, tollgate_type_buffer *error) {
  if (!host) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "host table is NULL");
  if (host->abi_major != TOLLGATE_ABI_VERSION_MAJOR)
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "host ABI %u.%u is not supported (plugin: %d.%d)",
                    (unsigned)host->abi_major, (unsigned)host->abi_minor,
                    TOLLGATE_ABI_VERSION_MAJOR, TOLLGATE_ABI_VERSION_MINOR);
  g_host = host;
  oln_log(TOLLGATE_LOG_DEBUG, "ollama-native %s initialized (ABI %d.%d, jansson %s)",
          OLN_PLUGIN_VERSION, TOLLGATE_ABI_VERSION_MAJOR, TOLLGATE_ABI_VERSION_MINOR,
          JANSSON_VERSION);
  return TOLLGATE_OK;
}

static void on_shutdown(void) { g_host = NULL; }

static void free_buffer(tollgate_type_buffer *buffer) {
  if (!buffer) return;
  free(buffer->ptr);
  buffer->ptr = NULL;
  buffer->len = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Adaptor and channel
 * ------------------------------------------------------------------------------------------- */

static tollgate_status on_adaptor_new(tollgate_type_bytes provider_id,
                                      tollgate_type_bytes api_version,
                                      tollgate_type_adaptor **out, tollgate_type_buffer *error) {
  (void)api_version; /* Ollama's native API has a single version */
  if (!out) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "adaptor out pointer is NULL");
  *out = NULL;
  size_t id_len = strlen(OLN_PROVIDER_ID);
  if (!provider_id.ptr || provider_id.len != id_len ||
      memcmp(provider_id.ptr, OLN_PROVIDER_ID, id_len) != 0)
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "ollama-native serves only provider id \"%s\"",
                    OLN_PROVIDER_ID);
  tollgate_type_adaptor *adaptor = calloc(1, sizeof *adaptor);
  if (!adaptor) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  *out = adaptor;
  return TOLLGATE_OK;
}

static void on_adaptor_destroy(tollgate_type_adaptor *adaptor) { free(adaptor); }

static void channel_free(tollgate_type_channel *channel) {
  if (!channel) return;
  free(channel->base_url);
  free(channel->auth_header);
  free(channel->keep_alive_json);
  free(channel->ollama_options_json);
  free(channel);
}

static bool has_control_or_space(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7F) return true;
  }
  return false;
}

static bool has_control(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

static tollgate_status parse_base_url(const json_t *settings, tollgate_type_channel *channel,
                                      tollgate_type_buffer *error) {
  json_t *v = json_object_get(settings, "base_url");
  const char *url = OLN_DEFAULT_BASE_URL;
  size_t len = strlen(url);
  if (v && !json_is_null(v)) {
    if (!json_is_string(v)) return oln_fail(error, TOLLGATE_ERR_CONFIG, "base_url must be a string");
    if (json_string_length(v) > 0) {
      url = json_string_value(v);
      len = json_string_length(v);
    }
  }
  size_t scheme;
  if (oln_starts_with_ci(url, len, "http://"))
    scheme = 7;
  else if (oln_starts_with_ci(url, len, "https://"))
    scheme = 8;
  else
    return oln_fail(error, TOLLGATE_ERR_CONFIG,
                    "base_url must start with http:// or https:// (got \"%.200s\")", url);
  if (has_control_or_space(url, len))
    return oln_fail(error, TOLLGATE_ERR_CONFIG,
                    "base_url must not contain spaces or control characters");
  if (memchr(url, '?', len) || memchr(url, '#', len))
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "base_url must not contain a query or fragment");
  while (len > scheme && url[len - 1] == '/') len--;
  if (len == scheme || url[scheme] == '/')
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "base_url has no host");
  channel->base_url = oln_strndup(url, len);
  if (!channel->base_url) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  if (len >= 3 && memcmp(url + len - 3, "/v1", 3) == 0)
    oln_log(TOLLGATE_LOG_WARNING,
            "base_url %s ends with /v1 (Ollama's OpenAI-compatible API); ollama-native calls the "
            "native API at %s/api/chat",
            channel->base_url, channel->base_url);
  return TOLLGATE_OK;
}

static tollgate_status parse_credentials(const json_t *settings, tollgate_type_channel *channel,
                                         tollgate_type_buffer *error) {
  json_t *creds = json_object_get(settings, "credentials");
  if (!creds || json_is_null(creds)) return TOLLGATE_OK;
  if (!json_is_object(creds))
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "credentials must be an object");
  json_t *key = json_object_get(creds, "api_key");
  if (!key || json_is_null(key)) return TOLLGATE_OK;
  if (!json_is_string(key))
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "credentials.api_key must be a string");
  const char *k = json_string_value(key);
  size_t len = json_string_length(key);
  if (len == 0) return TOLLGATE_OK;
  if (has_control(k, len))
    return oln_fail(error, TOLLGATE_ERR_CONFIG,
                    "credentials.api_key must not contain control characters");
  oln_sb sb = {0};
  oln_sb_append_str(&sb, "Authorization: Bearer ");
  oln_sb_append(&sb, k, len);
  oln_sb_append_str(&sb, "\r\n");
  if (sb.oom) {
    oln_sb_free(&sb);
    return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  }
  channel->auth_header = sb.ptr;
  return TOLLGATE_OK;
}

static tollgate_status parse_options(const json_t *settings, tollgate_type_channel *channel,
                                     tollgate_type_buffer *error) {
  json_t *options = json_object_get(settings, "options");
  if (!options || json_is_null(options)) return TOLLGATE_OK;
  if (!json_is_object(options))
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "options must be an object");
  json_t *keep_alive = json_object_get(options, "keep_alive");
  if (keep_alive && !json_is_null(keep_alive)) {
    if (!json_is_string(keep_alive) && !json_is_number(keep_alive))
      return oln_fail(error, TOLLGATE_ERR_CONFIG,
                      "options.keep_alive must be a string (e.g. \"5m\") or a number of seconds");
    channel->keep_alive_json = oln_dump_string(keep_alive);
    if (!channel->keep_alive_json) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  }
  json_t *model_options = json_object_get(options, "ollama_options");
  if (model_options && !json_is_null(model_options)) {
    if (!json_is_object(model_options))
      return oln_fail(error, TOLLGATE_ERR_CONFIG, "options.ollama_options must be an object");
    channel->ollama_options_json = oln_dump_string(model_options);
    if (!channel->ollama_options_json)
      return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  }
  return TOLLGATE_OK;
}

static tollgate_status on_channel_new(tollgate_type_adaptor *adaptor,
                                      tollgate_type_bytes settings_json,
                                      tollgate_type_channel **out, tollgate_type_buffer *error) {
  if (!out) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "channel out pointer is NULL");
  *out = NULL;
  if (!adaptor) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "adaptor handle is NULL");
  if (!settings_json.ptr || settings_json.len == 0)
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "channel settings are empty");
  json_error_t jerr;
  json_t *settings = json_loadb((const char *)settings_json.ptr, settings_json.len, OLN_LOAD_FLAGS,
                                &jerr);
  if (!settings)
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "channel settings are not valid JSON: %s",
                    jerr.text);
  if (!json_is_object(settings)) {
    json_decref(settings);
    return oln_fail(error, TOLLGATE_ERR_CONFIG, "channel settings must be a JSON object");
  }
  tollgate_type_channel *channel = calloc(1, sizeof *channel);
  tollgate_status st;
  if (!channel)
    st = oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  else if ((st = parse_base_url(settings, channel, error)) == TOLLGATE_OK &&
           (st = parse_credentials(settings, channel, error)) == TOLLGATE_OK)
    st = parse_options(settings, channel, error);
  json_decref(settings);
  if (st != TOLLGATE_OK) {
    channel_free(channel);
    return st;
  }
  *out = channel;
  return TOLLGATE_OK;
}

static void on_channel_destroy(tollgate_type_channel *channel) { channel_free(channel); }

/* ---------------------------------------------------------------------------------------------
 * Requests and responses
 * ------------------------------------------------------------------------------------------- */

#define COVERS(s, type, field) ((s)->struct_size >= offsetof(type, field) + sizeof((s)->field))

static bool copy_text(tollgate_type_buffer *buf, const char *a, const char *b, const char *c) {
  oln_sb sb = {0};
  oln_sb_append_str(&sb, a);
  if (b) oln_sb_append_str(&sb, b);
  if (c) oln_sb_append_str(&sb, c);
  if (sb.oom) {
    oln_sb_free(&sb);
    return false;
  }
  oln_sb_move_to_buffer(&sb, buf);
  return true;
}

static void clear_upstream_request(tollgate_type_upstream_request *out) {
  free_buffer(&out->method);
  free_buffer(&out->url);
  free_buffer(&out->headers);
  free_buffer(&out->body);
}

static tollgate_status on_build_request(tollgate_type_channel *channel,
                                        const tollgate_type_request_in *request,
                                        tollgate_type_upstream_request *out,
                                        tollgate_type_buffer *error) {
  if (!out) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "upstream request out pointer is NULL");
  memset(out, 0, sizeof *out);
  if (!channel) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "channel handle is NULL");
  if (!request || !COVERS(request, tollgate_type_request_in, stream))
    return oln_fail(error, TOLLGATE_ERR_INTERNAL, "request is NULL or too small");
  if (request->dialect != TOLLGATE_DIALECT_OPENAI)
    return oln_fail(error, TOLLGATE_ERR_UNSUPPORTED,
                    "ollama-native accepts only the OpenAI dialect (got dialect %d)",
                    (int)request->dialect);

  json_t *body = NULL;
  const char *path;
  tollgate_status st;
  switch (request->operation) {
    case TOLLGATE_OPERATION_CHAT:
      path = "/api/chat";
      st = oln_build_chat_body(channel, request, &body, error);
      break;
    case TOLLGATE_OPERATION_EMBEDDINGS:
      path = "/api/embed";
      st = oln_build_embed_body(channel, request, &body, error);
      break;
    default:
      return oln_fail(error, TOLLGATE_ERR_UNSUPPORTED,
                      "operation %d is not supported by ollama-native", (int)request->operation);
  }
  if (st != TOLLGATE_OK) return st;

  bool ok = oln_dump_to_buffer(body, &out->body) && copy_text(&out->method, "POST", NULL, NULL) &&
            copy_text(&out->url, channel->base_url, path, NULL) &&
            copy_text(&out->headers, "Content-Type: application/json\r\n", channel->auth_header,
                      NULL);
  json_decref(body);
  if (!ok) {
    clear_upstream_request(out);
    return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory while building the request");
  }
  return TOLLGATE_OK;
}

static tollgate_status on_convert_response(tollgate_type_channel *channel,
                                           const tollgate_type_response_in *response,
                                           tollgate_type_response_out *out,
                                           tollgate_type_buffer *error) {
  if (!out) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "response out pointer is NULL");
  memset(out, 0, sizeof *out);
  if (!channel) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "channel handle is NULL");
  if (!response || !COVERS(response, tollgate_type_response_in, body))
    return oln_fail(error, TOLLGATE_ERR_INTERNAL, "response is NULL or too small");
  tollgate_type_response_in in = {0};
  memcpy(&in, response, offsetof(tollgate_type_response_in, model));
  if (COVERS(response, tollgate_type_response_in, model)) in.model = response->model;
  tollgate_status st = oln_convert_response(&in, out, error);
  if (st != TOLLGATE_OK) free_buffer(&out->body);
  return st;
}

/* ---------------------------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------------------------- */

static void stream_free(tollgate_type_stream *stream) {
  if (!stream) return;
  free(stream->model);
  free(stream->pending);
  free(stream);
}

static tollgate_status on_stream_new(tollgate_type_channel *channel,
                                     const tollgate_type_stream_params *params,
                                     tollgate_type_stream **out, tollgate_type_buffer *error) {
  if (!out) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "stream out pointer is NULL");
  *out = NULL;
  if (!channel) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "channel handle is NULL");
  if (!params || !COVERS(params, tollgate_type_stream_params, model))
    return oln_fail(error, TOLLGATE_ERR_INTERNAL, "stream params are NULL or too small");
  if (params->operation != TOLLGATE_OPERATION_CHAT)
    return oln_fail(error, TOLLGATE_ERR_UNSUPPORTED,
                    "ollama-native streams only chat completions (operation %d)",
                    (int)params->operation);
  tollgate_type_stream *s = calloc(1, sizeof *s);
  if (!s) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  s->model = oln_utf8_sanitize(params->model.ptr, params->model.ptr ? params->model.len : 0,
                               &s->model_len);
  if (!s->model) {
    stream_free(s);
    return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  }
  s->include_usage =
      COVERS(params, tollgate_type_stream_params, include_usage) && params->include_usage != 0;
  oln_make_id(NULL, 0, s->id, sizeof s->id); /* replaced by the first line's */
  *out = s;
  return TOLLGATE_OK;
}

static tollgate_status on_stream_feed(tollgate_type_stream *stream, tollgate_type_bytes chunk,
                                      tollgate_type_buffer *out, tollgate_type_usage *usage,
                                      tollgate_type_buffer *error) {
  if (!out) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "stream out pointer is NULL");
  out->ptr = NULL;
  out->len = 0;
  if (!stream) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "stream handle is NULL");
  return oln_stream_feed(stream, chunk, out, usage, error);
}

static tollgate_status on_stream_finish(tollgate_type_stream *stream, tollgate_type_buffer *out,
                                        tollgate_type_usage *usage, tollgate_type_buffer *error) {
  if (!out) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "stream out pointer is NULL");
  out->ptr = NULL;
  out->len = 0;
  if (!stream) return oln_fail(error, TOLLGATE_ERR_INTERNAL, "stream handle is NULL");
  return oln_stream_finish(stream, out, usage, error);
}

static void on_stream_destroy(tollgate_type_stream *stream) { stream_free(stream); }

/* ---------------------------------------------------------------------------------------------
 * Descriptor
 * ------------------------------------------------------------------------------------------- */

static const char *const k_provider_ids[] = {OLN_PROVIDER_ID};

static const tollgate_type_adaptor_hooks k_adaptor_hooks = {
    .struct_size = sizeof(tollgate_type_adaptor_hooks),
    .on_adaptor_new = on_adaptor_new,
    .on_adaptor_destroy = on_adaptor_destroy,
    .on_channel_new = on_channel_new,
    .on_channel_destroy = on_channel_destroy,
    .on_build_request = on_build_request,
    .on_convert_response = on_convert_response,
    .on_stream_new = on_stream_new,
    .on_stream_feed = on_stream_feed,
    .on_stream_finish = on_stream_finish,
    .on_stream_destroy = on_stream_destroy,
};

static const tollgate_type_plugin_descriptor k_descriptor = {
    .struct_size = sizeof(tollgate_type_plugin_descriptor),
    .abi_major = TOLLGATE_ABI_VERSION_MAJOR,
    .abi_minor = TOLLGATE_ABI_VERSION_MINOR,
    .kind = TOLLGATE_KIND_ADAPTOR,
    .flags = 0,
    .name = OLN_PLUGIN_NAME,
    .version = OLN_PLUGIN_VERSION,
    .provider_ids = k_provider_ids,
    .provider_id_count = sizeof k_provider_ids / sizeof k_provider_ids[0],
    .on_init = on_init,
    .on_shutdown = on_shutdown,
    .free_buffer = free_buffer,
    .adaptor = &k_adaptor_hooks,
    .billing = NULL,
};

OLN_EXPORT const tollgate_type_plugin_descriptor *tollgate_plugin_entry(void);

OLN_EXPORT const tollgate_type_plugin_descriptor *tollgate_plugin_entry(void) {
  return &k_descriptor;
}
