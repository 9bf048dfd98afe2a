/*
 * Fixture: the smallest valid adaptor plugin, for the loader's tests. NOT a real adaptor.
 *
 *   name         "fixture"
 *   provider id  PROVIDER_ID, a string macro, default "fixture"; build it twice with the same
 *                -DPROVIDER_ID='"dup"' to test duplicate provider ids across plugins.
 *
 * Hooks do the simplest correct thing, without any JSON library:
 *   on_channel_new      finds "base_url":"..." in the settings by a NAIVE text search (no JSON
 *                       parsing, no escapes; good enough for test settings only); trailing '/' are
 *                       stripped. Missing or not http(s):// -> TOLLGATE_ERR_CONFIG naming base_url.
 *   on_build_request    POST <base_url>/chat/completions (or <base_url>/embeddings), the client's
 *                       body unchanged, "Content-Type: application/json".
 *   on_convert_response the upstream status and body unchanged; no usage.
 *   on_stream_*         upstream bytes passed through unchanged; finish adds nothing.
 *
 * A count (TOLLGATE_OPERATION_COUNT_TOKENS) is refused as TOLLGATE_ERR_UNSUPPORTED, as the ABI asks
 * of a plugin without a counter; with -DCOUNTS_AS_CHAT it is sent as a chat, as a careless plugin
 * would. ABI_MINOR (default TOLLGATE_ABI_VERSION_MINOR) is the descriptor's ABI minor version.
 *
 * VERSION (default "0.0.1") is the descriptor's version. With -DTAG_VERSION, on_build_request
 * also sends "x-fixture-version: VERSION" (and "Authorization: Bearer <api_key>" when the
 * settings hold an "api_key", found by the same naive search) and on_stream_finish appends the
 * SSE comment ": finished by VERSION", so a test can tell which build served a request.
 * BLOCK_UNTIL_FILE, a string macro: the plugin declares TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK and
 * on_build_request waits (polling, at most ten minutes) until that file exists, standing in for a
 * blocking build such as a token exchange that the test releases.
 *
 * ABI 1.4 parts. DESCRIPTOR_SIZE (default sizeof) is the descriptor's struct_size; with
 * -DABI_MINOR=3 -DDESCRIPTOR_SIZE='offsetof(tollgate_type_plugin_descriptor,provider_info_json)'
 * -DHOOKS_SIZE='offsetof(tollgate_type_adaptor_hooks,on_classify_response)' it is an ABI 1.3
 * plugin. PROVIDER_INFO, a string macro, is its provider_info_json. With -DCLASSIFY it has an
 * on_classify_response that reads the upstream body by NAIVE text search: "verdict=N" is the
 * verdict (any int, even an unknown one), the whole body is the message, "successor=NAME;" the
 * successor, "retry=N;" sets retry_after_ms, "negative" sets a negative tokens_remaining with its
 * bit, "badsize" overwrites out->struct_size, "decline" returns nonzero; a 2xx answers verdict OK with requests_limit 77.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stddef.h>

#include "tollgate_plugin.h"

/* HOOKS_SIZE: the hook table size it declares; build with
 * -DHOOKS_SIZE='offsetof(tollgate_type_adaptor_hooks, on_accepts_dialect)' to act as an ABI 1.0
 * plugin (without the 1.1 hooks). */
#ifndef HOOKS_SIZE
#define HOOKS_SIZE sizeof(tollgate_type_adaptor_hooks)
#endif

#ifndef VERSION
#define VERSION "0.0.1"
#endif

#ifndef PROVIDER_ID
#define PROVIDER_ID "fixture"
#endif

#ifndef ABI_MINOR
#define ABI_MINOR TOLLGATE_ABI_VERSION_MINOR
#endif

#ifndef DESCRIPTOR_SIZE
#define DESCRIPTOR_SIZE sizeof(tollgate_type_plugin_descriptor)
#endif

#ifndef PROVIDER_INFO
#define PROVIDER_INFO NULL
#endif

struct tollgate_type_adaptor {
  int unused;
};
struct tollgate_type_channel {
  char *base_url; /* read-only after creation */
  size_t base_url_len;
  char *headers; /* request headers, read-only after creation */
  size_t headers_len;
};
struct tollgate_type_stream {
  int unused;
};

static void free_buffer(tollgate_type_buffer *buffer) {
  if (!buffer) return;
  free(buffer->ptr);
  buffer->ptr = NULL;
  buffer->len = 0;
}

/* Fills buf with a malloc'd copy of the concatenation of a and b. */
static int fill(tollgate_type_buffer *buf, const void *a, size_t a_len, const void *b,
                size_t b_len) {
  buf->ptr = NULL;
  buf->len = 0;
  if (a_len + b_len == 0) return 1;
  uint8_t *p = malloc(a_len + b_len);
  if (!p) return 0;
  if (a_len) memcpy(p, a, a_len);
  if (b_len) memcpy(p + a_len, b, b_len);
  buf->ptr = p;
  buf->len = a_len + b_len;
  return 1;
}

static tollgate_status fail(tollgate_type_buffer *error, tollgate_status status, const char *msg) {
  if (error) fill(error, msg, strlen(msg), NULL, 0);
  return status;
}

static tollgate_status on_init(const tollgate_type_host *host, tollgate_type_buffer *error) {
  (void)host;
  (void)error;
  return TOLLGATE_OK;
}

static tollgate_status on_adaptor_new(tollgate_type_bytes provider_id,
                                      tollgate_type_bytes api_version,
                                      tollgate_type_adaptor **out, tollgate_type_buffer *error) {
  (void)provider_id;
  (void)api_version;
  if (!out) return fail(error, TOLLGATE_ERR_INTERNAL, "out is NULL");
  *out = calloc(1, sizeof **out);
  return *out ? TOLLGATE_OK : fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
}

static void on_adaptor_destroy(tollgate_type_adaptor *adaptor) { free(adaptor); }

/* Naive: the first `key` (quoted), then optional spaces, ':', spaces, and a string without
 * escapes. A fixture, not a JSON parser. */
static int find_string(const uint8_t *s, size_t len, const char *key, const uint8_t **value, size_t *value_len) {
  size_t key_len = strlen(key);
  for (size_t i = 0; i + key_len <= len; i++) {
    if (memcmp(s + i, key, key_len) != 0) continue;
    size_t j = i + key_len;
    while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
    if (j >= len || s[j] != ':') return 0;
    j++;
    while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
    if (j >= len || s[j] != '"') return 0;
    size_t start = ++j;
    while (j < len && s[j] != '"') j++;
    if (j >= len) return 0;
    *value = s + start;
    *value_len = j - start;
    return 1;
  }
  return 0;
}

static tollgate_status on_channel_new(tollgate_type_adaptor *adaptor, tollgate_type_bytes settings,
                                      tollgate_type_channel **out, tollgate_type_buffer *error) {
  (void)adaptor;
  if (!out) return fail(error, TOLLGATE_ERR_INTERNAL, "out is NULL");
  *out = NULL;
  const uint8_t *url = NULL;
  size_t url_len = 0;
  if (!settings.ptr || !find_string(settings.ptr, settings.len, "\"base_url\"", &url, &url_len))
    return fail(error, TOLLGATE_ERR_CONFIG, "base_url is missing");
  if (!((url_len > 7 && memcmp(url, "http://", 7) == 0) ||
        (url_len > 8 && memcmp(url, "https://", 8) == 0)))
    return fail(error, TOLLGATE_ERR_CONFIG, "base_url must start with http:// or https://");
  while (url_len > 0 && url[url_len - 1] == '/') url_len--;
  tollgate_type_channel *channel = calloc(1, sizeof *channel);
  if (!channel || !(channel->base_url = malloc(url_len))) {
    free(channel);
    return fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  }
  memcpy(channel->base_url, url, url_len);
  channel->base_url_len = url_len;
#ifdef TAG_VERSION
  static const char tag[] = "Content-Type: application/json\r\nx-fixture-version: " VERSION "\r\n";
  const uint8_t *key = NULL;
  size_t key_len = 0;
  int has_key = find_string(settings.ptr, settings.len, "\"api_key\"", &key, &key_len);
  static const char auth[] = "Authorization: Bearer ";
  size_t total = sizeof tag - 1 + (has_key ? sizeof auth - 1 + key_len + 2 : 0);
  if (!(channel->headers = malloc(total))) {
    free(channel->base_url);
    free(channel);
    return fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  }
  memcpy(channel->headers, tag, sizeof tag - 1);
  if (has_key) {
    memcpy(channel->headers + sizeof tag - 1, auth, sizeof auth - 1);
    memcpy(channel->headers + sizeof tag - 1 + sizeof auth - 1, key, key_len);
    memcpy(channel->headers + total - 2, "\r\n", 2);
  }
  channel->headers_len = total;
#endif
  *out = channel;
  return TOLLGATE_OK;
}

static void on_channel_destroy(tollgate_type_channel *channel) {
  if (!channel) return;
  free(channel->base_url);
  free(channel->headers);
  free(channel);
}

static tollgate_status on_build_request(tollgate_type_channel *channel,
                                        const tollgate_type_request_in *request,
                                        tollgate_type_upstream_request *out,
                                        tollgate_type_buffer *error) {
  static const char plain_headers[] = "Content-Type: application/json\r\n";
  const char *headers = channel && channel->headers ? channel->headers : plain_headers;
  size_t headers_len = channel && channel->headers ? channel->headers_len : sizeof plain_headers - 1;
  if (!out) return fail(error, TOLLGATE_ERR_INTERNAL, "out is NULL");
  memset(out, 0, sizeof *out);
#ifdef BLOCK_UNTIL_FILE
  for (int waited = 0; access(BLOCK_UNTIL_FILE, F_OK) != 0 && waited < 120000; waited++) usleep(5000);
#endif
  if (!channel || !request) return fail(error, TOLLGATE_ERR_INTERNAL, "NULL channel or request");
#ifndef COUNTS_AS_CHAT
  if (request->operation == TOLLGATE_OPERATION_COUNT_TOKENS) return fail(error, TOLLGATE_ERR_UNSUPPORTED, "no counter");
#endif
  const char *path =
      request->operation == TOLLGATE_OPERATION_EMBEDDINGS ? "/embeddings" : "/chat/completions";
  size_t body_len = request->body.ptr ? request->body.len : 0;
  if (!fill(&out->method, "POST", 4, NULL, 0) ||
      !fill(&out->url, channel->base_url, channel->base_url_len, path, strlen(path)) ||
      !fill(&out->headers, headers, headers_len, NULL, 0) ||
      !fill(&out->body, request->body.ptr, body_len, NULL, 0)) {
    free_buffer(&out->method);
    free_buffer(&out->url);
    free_buffer(&out->headers);
    free_buffer(&out->body);
    return fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  }
  return TOLLGATE_OK;
}

static tollgate_status on_convert_response(tollgate_type_channel *channel,
                                           const tollgate_type_response_in *response,
                                           tollgate_type_response_out *out,
                                           tollgate_type_buffer *error) {
  (void)channel;
  if (!out) return fail(error, TOLLGATE_ERR_INTERNAL, "out is NULL");
  memset(out, 0, sizeof *out);
  if (!response) return fail(error, TOLLGATE_ERR_INTERNAL, "response is NULL");
  out->status = response->status;
  size_t len = response->body.ptr ? response->body.len : 0;
  if (!fill(&out->body, response->body.ptr, len, NULL, 0))
    return fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  return TOLLGATE_OK;
}

static tollgate_status on_stream_new(tollgate_type_channel *channel,
                                     const tollgate_type_stream_params *params,
                                     tollgate_type_stream **out, tollgate_type_buffer *error) {
  (void)channel;
  (void)params;
  if (!out) return fail(error, TOLLGATE_ERR_INTERNAL, "out is NULL");
  *out = calloc(1, sizeof **out);
  return *out ? TOLLGATE_OK : fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
}

static tollgate_status on_stream_feed(tollgate_type_stream *stream, tollgate_type_bytes chunk,
                                      tollgate_type_buffer *out, tollgate_type_usage *usage,
                                      tollgate_type_buffer *error) {
  (void)stream;
  (void)usage;
  if (!out) return fail(error, TOLLGATE_ERR_INTERNAL, "out is NULL");
  size_t len = chunk.ptr ? chunk.len : 0;
  if (!fill(out, chunk.ptr, len, NULL, 0)) return fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
  return TOLLGATE_OK;
}

static tollgate_status on_stream_finish(tollgate_type_stream *stream, tollgate_type_buffer *out,
                                        tollgate_type_usage *usage, tollgate_type_buffer *error) {
  (void)stream;
  (void)usage;
  (void)error;
  if (out) {
    out->ptr = NULL;
    out->len = 0;
#ifdef TAG_VERSION
    static const char mark[] = ": finished by " VERSION "\n\n";
    if (!fill(out, mark, sizeof mark - 1, NULL, 0)) return fail(error, TOLLGATE_ERR_INTERNAL, "out of memory");
#endif
  }
  return TOLLGATE_OK;
}

static void on_stream_destroy(tollgate_type_stream *stream) { free(stream); }

#ifdef CLASSIFY
/* The text after `key` in `text`, up to `end` (exclusive), as a malloc'd buffer. */
static void after(const char *text, const char *key, char end, tollgate_type_buffer *out) {
  const char *start = strstr(text, key);
  if (!start) return;
  start += strlen(key);
  const char *stop = strchr(start, end);
  if (!stop) return;
  fill(out, start, (size_t)(stop - start), "", 0);
}

static int32_t on_classify_response(tollgate_type_channel *channel, const tollgate_type_classify_in *answer,
                                    tollgate_type_classification *out) {
  (void)channel;
  if (answer->status >= 200 && answer->status < 300) {
    out->verdict = TOLLGATE_VERDICT_OK;
    out->limit_fields = TOLLGATE_LIMIT_REQUESTS_LIMIT;
    out->requests_limit = 77;
    return 0;
  }
  char *text = malloc(answer->body.len + 1);
  if (!text) return 1;
  memcpy(text, answer->body.ptr, answer->body.len);
  text[answer->body.len] = 0;
  int32_t declined = strstr(text, "decline") != NULL;
  const char *verdict = strstr(text, "verdict=");
  out->verdict = (tollgate_type_verdict)(verdict ? atoi(verdict + 8) : 0);
  fill(&out->message, answer->body.ptr, answer->body.len, "", 0);
  fill(&out->code, "fixture_code", 12, "", 0);
  after(text, "successor=", ';', &out->successor);
  const char *retry = strstr(text, "retry=");
  if (retry) {
    out->limit_fields |= TOLLGATE_LIMIT_RETRY_AFTER;
    out->retry_after_ms = atoll(retry + 6);
  }
  if (strstr(text, "badsize")) out->struct_size = (size_t)-1; /* the core must ignore it */
  if (strstr(text, "negative")) {
    out->limit_fields |= TOLLGATE_LIMIT_TOKENS_REMAINING;
    out->tokens_remaining = -5;
  }
  free(text);
  return declined;
}
#endif

static const char *const provider_ids[] = {PROVIDER_ID};

static const tollgate_type_adaptor_hooks hooks = {
    .struct_size = HOOKS_SIZE,
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
#ifdef CLASSIFY
    .on_classify_response = on_classify_response,
#endif
};

static const tollgate_type_plugin_descriptor descriptor = {
    .struct_size = DESCRIPTOR_SIZE,
    .abi_major = TOLLGATE_ABI_VERSION_MAJOR,
    .abi_minor = ABI_MINOR,
    .kind = TOLLGATE_KIND_ADAPTOR,
#ifdef BLOCK_UNTIL_FILE
    .flags = TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK,
#else
    .flags = 0,
#endif
    .name = "fixture",
    .version = VERSION,
    .provider_ids = provider_ids,
    .provider_id_count = 1,
    .on_init = on_init,
    .on_shutdown = NULL,
    .free_buffer = free_buffer,
    .adaptor = &hooks,
    .billing = NULL,
    .provider_info_json = PROVIDER_INFO,
};

const tollgate_type_plugin_descriptor *tollgate_plugin_entry(void) { return &descriptor; }
