#!/usr/bin/env python3
"""A frame number drawn as large black/white blocks, and read back from a decoded picture of any size.

32 bits as an 8x4 grid: 24 bits of frame number, most significant first, then a CRC-8 of those three bytes, so a
picture mangled by the encoder reads as "no stamp" instead of a wrong number. A block is 1/16 of the width by 1/9 of
the height (80x80 px at 1280x720, 20x20 px at 320x180); only the middle half of each block is sampled, so ringing at
block edges and the chroma-free bilinear scale to a lower rung do not flip bits.

    python3 tools/bench/latency/stamp.py    # round trip through VP8 at 320x180, 200 kb/s (PyAV)
"""
import numpy as np

COLUMNS, ROWS = 8, 4
FRAME_BITS = 24
BLACK, WHITE, QUIET = 16, 235, 128


def crc8(value):
    """CRC-8 (polynomial 0x07) over the three bytes of a 24-bit value."""
    crc = 0
    for byte in value.to_bytes(3, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def bits_of(number):
    number &= (1 << FRAME_BITS) - 1
    word = (number << 8) | crc8(number)
    return [(word >> (31 - i)) & 1 for i in range(COLUMNS * ROWS)]


def grid(width, height):
    """Block size and origin as floats: the same proportions at every rung of the ladder."""
    block_w, block_h = width / 16, height / 9
    return block_w, block_h, block_w, block_h


def draw(luma, number):
    """Paints the stamp into a luma plane (uint8, height x width) in place."""
    height, width = luma.shape
    block_w, block_h, x0, y0 = grid(width, height)
    # A grey quiet zone half a block wide keeps the moving background away from the outer blocks.
    luma[int(y0 - block_h / 2):int(y0 + (ROWS + 0.5) * block_h), int(x0 - block_w / 2):int(x0 + (COLUMNS + 0.5) * block_w)] = QUIET
    for index, bit in enumerate(bits_of(number)):
        row, column = divmod(index, COLUMNS)
        top, left = int(y0 + row * block_h), int(x0 + column * block_w)
        luma[top:int(top + block_h), left:int(left + block_w)] = WHITE if bit else BLACK


def read(luma):
    """The frame number stamped in a decoded luma plane, or None when the CRC does not match."""
    height, width = luma.shape
    block_w, block_h, x0, y0 = grid(width, height)
    word = 0
    for index in range(COLUMNS * ROWS):
        row, column = divmod(index, COLUMNS)
        top, left = y0 + row * block_h, x0 + column * block_w
        patch = luma[int(top + block_h / 4):int(top + 3 * block_h / 4), int(left + block_w / 4):int(left + 3 * block_w / 4)]
        if patch.size == 0:
            return None
        word = (word << 1) | (1 if patch.mean() > (BLACK + WHITE) / 2 else 0)
    number, check = word >> 8, word & 0xFF
    return number if crc8(number) == check else None


def luma_of(frame):
    """The Y plane of a PyAV VideoFrame as an ndarray view, without a colour conversion."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, dtype=np.uint8)
    stride = plane.line_size
    return rows[: stride * frame.height].reshape(frame.height, stride)[:, : frame.width]


def _round_trip():
    import av
    from fractions import Fraction

    width, height = 1280, 720
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 180, "yuv420p"
    encoder.bit_rate, encoder.time_base = 200_000, Fraction(1, 30)
    decoder = av.CodecContext.create("libvpx", "r")
    numbers = [0, 1, 2, 255, 256, 4095, 65535, 1_000_000, (1 << 24) - 1] + list(range(100, 160))
    read_back = []

    def drain(packets):
        for packet in packets:
            for picture in decoder.decode(packet):
                read_back.append(read(luma_of(picture)))

    for pts, number in enumerate(numbers):
        luma = np.full((height, width), 60, dtype=np.uint8)
        luma[:, ::7] = 200  # busy background
        draw(luma, number)
        yuv = np.concatenate([luma.reshape(-1), np.full(width * height // 2, 128, dtype=np.uint8)])
        frame = av.VideoFrame.from_ndarray(yuv.reshape(height * 3 // 2, width), format="yuv420p").reformat(320, 180)
        frame.pts = pts
        drain(encoder.encode(frame))
    drain(encoder.encode(None))
    misread = sum(1 for got, want in zip(read_back, numbers) if got != want)
    print(f"{len(read_back)}/{len(numbers)} pictures decoded at 320x180, {misread} not read back exactly")
    assert read(np.full((height, width), 128, dtype=np.uint8)) is None, "a grey picture must not read as a stamp"
    return 0 if len(read_back) == len(numbers) and misread == 0 else 1


if __name__ == "__main__":
    raise SystemExit(_round_trip())
