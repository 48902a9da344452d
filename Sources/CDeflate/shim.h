// CDeflate: thin shim over zlib (deflate and CRC-32 for the PNG writer). Nothing else lives here.
#include <zlib.h>
