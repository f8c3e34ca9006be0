/* A bare h2o-on-libuv "hello" server, built like parlayd's HTTP layer, to give the follower-read
 * benchmark a ceiling measured on the same machine: bench/h2o_hello PORT */
#include <h2o.h>
#include <h2o/socket/uv-binding.h>
#include <stdio.h>
#include <stdlib.h>

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain"));
    h2o_send_inline(req, H2O_STRLIT("hello\n"));
    return 0;
}

static void on_accept(uv_stream_t *listener, int status)
{
    if (status != 0)
        return;
    uv_tcp_t *conn = h2o_mem_alloc(sizeof *conn);
    uv_tcp_init(listener->loop, conn);
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, (uv_close_cb)free);
        return;
    }
    h2o_accept(&accept_ctx, h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free));
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 8199;
    h2o_config_init(&config);
    h2o_hostconf_t *host =
        h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_handler_t *h = h2o_create_handler(h2o_config_register_path(host, "/", 0), sizeof *h);
    h->on_req = on_req;
    uv_loop_t *loop = uv_default_loop();
    h2o_context_init(&ctx, loop, &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;
    uv_tcp_t listener;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &listener);
    uv_ip4_addr("127.0.0.1", port, &addr);
    if (uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&listener, 1024, on_accept) != 0) {
        fprintf(stderr, "h2o_hello: cannot listen on %d\n", port);
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
