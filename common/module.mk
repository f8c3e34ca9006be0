# common/: what every layer uses: hex, logging (one key=value line per event), libcurl on a
# libuv loop (curl_uv), reading a whole file (file).
COMMON_SRCS := common/hex.c common/log.c common/curl_uv.c common/file.c common/seal.c common/tls.c common/certs.c
