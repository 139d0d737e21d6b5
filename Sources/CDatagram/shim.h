#ifndef LIVERELAY_CDATAGRAM_SHIM_H
#define LIVERELAY_CDATAGRAM_SHIM_H
#include <stdint.h>
#include <string.h>
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

// A hint that the `bytes` from `address` will be read soon (the egress's next viewers' state). A prefetch never
// faults, so an address that is stale by then costs nothing but the hint.
static inline void lr_prefetch(const void *address, unsigned int bytes) {
    for (unsigned int offset = 0; offset < bytes; offset += 64) __builtin_prefetch((const char *)address + offset, 0, 3);
}

// UDP GSO (Linux 4.18): one message whose payload the kernel cuts into datagrams of `segment` bytes (the last may
// be shorter). The CMSG_* macros do not import into Swift. SOL_UDP and UDP_SEGMENT are spelled out: including
// <netinet/udp.h> here clashes with SwiftNIO's module, which brings in <linux/udp.h>'s `struct udphdr`.
#define LR_SOL_UDP 17
#define LR_UDP_SEGMENT 103

static inline size_t lr_udp_segment_control_size(void) { return CMSG_SPACE(sizeof(uint16_t)); }

static inline void lr_write_udp_segment(void *control, uint16_t segment) {
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = LR_SOL_UDP;
    header->cmsg_type = LR_UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(header), &segment, sizeof(segment));
}
#endif
