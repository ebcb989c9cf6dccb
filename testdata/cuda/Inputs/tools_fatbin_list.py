"""fatbin_list.py FILE: one line per image of a fatbin, "KIND sm_NN[a]"
(KIND elf or ptx), in file order; exit 1 when FILE is not a fatbin.

The layout read here (little-endian): a 16-byte header (magic 0xBA55ED50,
u16 version, u16 header size, u64 size of the entries), then entries of a
u16 kind (1 PTX, 2 ELF), u16 version, u32 entry header size, u64 payload
size, ..., the SM number as u32 at offset 28, flags as u32 at offset 40
(0x100000: an architecture-specific "a" image).  tools_fatbin.test checks
this reading against cuobjdump where the toolkit has it."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
if len(data) < 16:
    sys.exit("not a fatbin: too short")
magic, _, hsize, size = struct.unpack_from("<IHHQ", data, 0)
if magic != 0xBA55ED50:
    sys.exit("not a fatbin: magic %#x" % magic)
off, end = hsize, hsize + size
while off < end:
    kind, _, ehsize, psize = struct.unpack_from("<HHIQ", data, off)
    sm, flags = struct.unpack_from("<I", data, off + 28)[0], struct.unpack_from("<I", data, off + 40)[0]
    name = {1: "ptx", 2: "elf"}.get(kind, "kind%d" % kind)
    print("%s sm_%d%s" % (name, sm, "a" if flags & 0x100000 else ""))
    off += ehsize + psize
