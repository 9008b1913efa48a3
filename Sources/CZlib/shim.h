// The system's zlib (Debian's zlib1g-dev), for Block Storage's backup compression.
#include <zlib.h>
