/**
 * The RPC payload profile shared by the direct msgpack writer (msgpack-write.ts) and reader
 * (msgpack-read.ts): the values calls carry almost always, nested at most MAX_DEPTH deep, with
 * large binary values optionally carried out of band (docs/rpc-wire.md).
 */

/** Deepest nesting the direct writer and reader handle; deeper values go to the general codec. */
export const MAX_DEPTH = 256;

/**
 * msgpack extension type of an out-of-band binary reference (see docs/rpc-wire.md): fixext 4,
 * data = u32 big-endian index of an extra content frame after the envelope frame. msgpackr's
 * built-in extensions use 0x00, 0x42, 0x62, 0x65, 0x69, 0x70, 0x73, 0x74, 0x78 and -1.
 */
export const BINARY_FRAME_EXT = 0x01;
