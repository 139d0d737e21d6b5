#ifndef LIVERELAY_CDATAGRAM_SHIM_H
#define LIVERELAY_CDATAGRAM_SHIM_H
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

// struct mmsghdr and sendmmsg(2) are GNU extensions that Swift's Glibc module leaves out, and syscall(2) is
// variadic: the same layout as struct mmsghdr, sent through the system call itself.
struct lr_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

static inline int lr_sendmmsg(int fd, struct lr_mmsghdr *messages, unsigned int count, int flags) {
    return (int)syscall(SYS_sendmmsg, fd, messages, count, flags);
}
#endif
