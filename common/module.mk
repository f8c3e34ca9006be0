# common/: what every layer uses (hex today; logging and file reading are to follow).
COMMON_SRCS := common/hex.c
