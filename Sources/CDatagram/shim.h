#ifndef LIVERELAY_CDATAGRAM_SHIM_H
#define LIVERELAY_CDATAGRAM_SHIM_H
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/udp.h>
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

// UDP GSO (Linux 4.18): one message whose payload the kernel cuts into datagrams of `segment` bytes (the last may
// be shorter). The CMSG_* macros do not import into Swift.
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static inline size_t lr_udp_segment_control_size(void) { return CMSG_SPACE(sizeof(uint16_t)); }

static inline void lr_write_udp_segment(void *control, uint16_t segment) {
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    memcpy(CMSG_DATA(header), &segment, sizeof(segment));
}
#endif
