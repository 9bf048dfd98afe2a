/*
 * Fixture: a correct, complete adaptor descriptor (provider id and name "init-fails") whose
 * on_init fails with TOLLGATE_ERR_CONFIG and the message "missing license file". The loader must
 * refuse the plugin, surface that message (freed with this plugin's free_buffer), never register
 * "init-fails", and dlclose() the object. No other hook may run: each one fails with a telling
 * message if it is called.
 */
#include <stdlib.h>
#include <string.h>

#include "tollgate_plugin.h"

#define FIXTURE_NAME "init-fails"

static void free_buffer(tollgate_type_buffer *buffer) {
  if (!buffer) return;
  free(buffer->ptr);
  buffer->ptr = NULL;
  buffer->len = 0;
}

static tollgate_status on_init(const tollgate_type_host *host, tollgate_type_buffer *error) {
  static const char message[] = "missing license file";
  (void)host;
  if (error && (error->ptr = malloc(sizeof message - 1)) != NULL) {
    memcpy(error->ptr, message, sizeof message - 1);
    error->len = sizeof message - 1;
  }
  return TOLLGATE_ERR_CONFIG;
}
static void on_shutdown(void) {}

/* Complete hook table: every hook exists (so descriptor checks pass) and reports that it should
 * never have been called. */
static tollgate_status unreachable(tollgate_type_buffer *error) {
  static const char message[] = FIXTURE_NAME " fixture: hook called on a plugin that must not load";
  if (error && (error->ptr = malloc(sizeof message - 1)) != NULL) {
    memcpy(error->ptr, message, sizeof message - 1);
    error->len = sizeof message - 1;
  }
  return TOLLGATE_ERR_INTERNAL;
}

static tollgate_status on_adaptor_new(tollgate_type_bytes provider_id,
                                      tollgate_type_bytes api_version,
                                      tollgate_type_adaptor **out, tollgate_type_buffer *error) {
  (void)provider_id;
  (void)api_version;
  if (out) *out = NULL;
  return unreachable(error);
}
static void on_adaptor_destroy(tollgate_type_adaptor *adaptor) { (void)adaptor; }
static tollgate_status on_channel_new(tollgate_type_adaptor *adaptor, tollgate_type_bytes settings,
                                      tollgate_type_channel **out, tollgate_type_buffer *error) {
  (void)adaptor;
  (void)settings;
  if (out) *out = NULL;
  return unreachable(error);
}
static void on_channel_destroy(tollgate_type_channel *channel) { (void)channel; }
static tollgate_status on_build_request(tollgate_type_channel *channel,
                                        const tollgate_type_request_in *request,
                                        tollgate_type_upstream_request *out,
                                        tollgate_type_buffer *error) {
  (void)channel;
  (void)request;
  if (out) memset(out, 0, sizeof *out);
  return unreachable(error);
}
static tollgate_status on_convert_response(tollgate_type_channel *channel,
                                           const tollgate_type_response_in *response,
                                           tollgate_type_response_out *out,
                                           tollgate_type_buffer *error) {
  (void)channel;
  (void)response;
  if (out) memset(out, 0, sizeof *out);
  return unreachable(error);
}
static tollgate_status on_stream_new(tollgate_type_channel *channel,
                                     const tollgate_type_stream_params *params,
                                     tollgate_type_stream **out, tollgate_type_buffer *error) {
  (void)channel;
  (void)params;
  if (out) *out = NULL;
  return unreachable(error);
}
static tollgate_status on_stream_feed(tollgate_type_stream *stream, tollgate_type_bytes chunk,
                                      tollgate_type_buffer *out, tollgate_type_usage *usage,
                                      tollgate_type_buffer *error) {
  (void)stream;
  (void)chunk;
  (void)usage;
  if (out) memset(out, 0, sizeof *out);
  return unreachable(error);
}
static tollgate_status on_stream_finish(tollgate_type_stream *stream, tollgate_type_buffer *out,
                                        tollgate_type_usage *usage, tollgate_type_buffer *error) {
  (void)stream;
  (void)usage;
  if (out) memset(out, 0, sizeof *out);
  return unreachable(error);
}
static void on_stream_destroy(tollgate_type_stream *stream) { (void)stream; }

static const tollgate_type_adaptor_hooks hooks = {
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

static const char *const provider_ids[] = {FIXTURE_NAME};

static const tollgate_type_plugin_descriptor descriptor = {
    .struct_size = sizeof(tollgate_type_plugin_descriptor),
    .abi_major = TOLLGATE_ABI_VERSION_MAJOR,
    .abi_minor = TOLLGATE_ABI_VERSION_MINOR,
    .kind = TOLLGATE_KIND_ADAPTOR,
    .flags = 0,
    .name = FIXTURE_NAME,
    .version = "0.0.1",
    .provider_ids = provider_ids,
    .provider_id_count = 1,
    .on_init = on_init,
    .on_shutdown = on_shutdown,
    .free_buffer = free_buffer,
    .adaptor = &hooks,
    .billing = NULL,
};

const tollgate_type_plugin_descriptor *tollgate_plugin_entry(void) { return &descriptor; }
